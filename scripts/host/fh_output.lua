-- busted output for `flowhost test`: busted's terminal output, then one
-- closing line "specs: N passed, N failed" that CI tools read.
return function(options)
  local busted = require "busted"
  local name = os.getenv("CI") and "plainTerminal" or "utfTerminal"
  local handler = require("busted.outputHandlers." .. name)(options)
  busted.subscribe({ "suite", "end" }, function()
    local failed = handler.failuresCount + handler.errorsCount
    io.write(("specs: %d passed, %d failed\n"):format(handler.successesCount, failed))
    io.flush()
    return nil, true
  end)
  return handler
end
