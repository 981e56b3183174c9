/**
 * `cmd` strings split into argv the way supervisord does it (Python's
 * `shlex.split`, POSIX mode): blanks separate words, '…' is literal, "…"
 * honours \\ \" \$ \` and a backslash-newline, a backslash outside quotes
 * makes the next character literal. There is no shell: no variables, globs,
 * pipes or redirections (write `cmd: "sh -c '…'"` for those).
 */

/** The words of `cmd`; throws an Error whose message says what is wrong. */
export function splitCommand(cmd: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let i = 0;
  while (i < cmd.length) {
    const c = cmd[i];
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
      i++;
    } else if (c === "'") {
      const end = cmd.indexOf("'", i + 1);
      if (end < 0) throw new Error(`no closing quotation (' at column ${i + 1})`);
      word += cmd.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      const open = i;
      i++;
      for (;;) {
        if (i >= cmd.length) throw new Error(`no closing quotation (" at column ${open + 1})`);
        const d = cmd[i];
        if (d === '"') break;
        if (d === "\\" && i + 1 < cmd.length && '\\"$`\n'.includes(cmd[i + 1])) {
          if (cmd[i + 1] !== "\n") word += cmd[i + 1];
          i += 2;
        } else {
          word += d;
          i++;
        }
      }
      inWord = true;
      i++;
    } else if (c === "\\") {
      if (i + 1 >= cmd.length) throw new Error("no escaped character after the final backslash");
      if (cmd[i + 1] !== "\n") {
        word += cmd[i + 1];
        inWord = true;
      }
      i += 2;
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(word);
  return words;
}
