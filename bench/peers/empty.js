// The bare peer of the controller CLI's start: a Deno process with nothing to do.
