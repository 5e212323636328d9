-- wrk script of bench/ogc/run.py: sends the paths listed (one a line) in the file named by $BENCH_PATHS, in
-- order, each thread starting at its own offset and going round; the list is written by the bench from a fixed seed.
local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do
  if #line > 0 then paths[#paths + 1] = line end
end
local next_offset = 0
local i = 0

function setup(thread)
  thread:set("start_at", next_offset)
  next_offset = next_offset + 97
end

function init(args)
  i = start_at or 0
end

function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
