// The bare peer of the idle agent: a Deno process that only waits.
// The one line on stderr tells the benchmark it has started.
console.error("ready");
setInterval(() => {}, 1e9);
