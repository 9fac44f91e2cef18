-- Loaded only by the studio's preview host (studio.preview): every worker
-- of it talks to the preview database (FLOWHOST_STUDIO_PREVIEW_DB), never
-- to the one the live host serves from. Refuses to start without it.
local redis = require "redis"
local db = tonumber(os.getenv("FLOWHOST_STUDIO_PREVIEW_DB") or "")
if not db then error("studio_preview is the preview host's: FLOWHOST_STUDIO_PREVIEW_DB must name its database", 0) end
if redis.db() == db then
  error(("the live host's Redis URL names database %d, the preview's too: set FLOWHOST_STUDIO_PREVIEW_DB to another"):format(db), 0)
end
redis.use_db(db)
