-- Takes the next job (see `take`). ARGV: prefix, then take's arguments.
return take(ARGV[1], 2)
