--- studio.static: the studio's page and its bundle (/studio/,
--- /studio/assets/*), read from a folder and kept in memory.
--
--   static.dir() -> the bundle folder: FLOWHOST_STUDIO_DIR, default
--       "build/studio" (the npm build of vendor/studio/ writes there)
--   static.serve(req, rel) -> status, body, headers
--       rel: "index.html" or "assets/<name>"; the file's bytes with its
--       content type, an ETag (304 on If-None-Match) and cache headers:
--       index.html is revalidated on every load (no-cache), assets are
--       kept for an hour. A missing index.html answers a short page that
--       says how to build the bundle.
--
-- Names are checked before any file is opened: segments of letters,
-- digits, '.', '_' and '-', none starting with '.', so no '..', no hidden
-- file and no absolute path reaches the disk. A file is read once and
-- kept (up to 32 MB in all per worker); it is read again when it is more
-- than 2 s old in memory and its size changed, so a rebuilt bundle shows
-- without a restart.
local crypto = require "crypto"
local time = require "time"

local M = {}

local TYPES = {
  html = "text/html; charset=utf-8", js = "text/javascript; charset=utf-8", mjs = "text/javascript; charset=utf-8",
  css = "text/css; charset=utf-8", json = "application/json", map = "application/json",
  svg = "image/svg+xml", png = "image/png", jpg = "image/jpeg", jpeg = "image/jpeg", gif = "image/gif",
  ico = "image/x-icon", webp = "image/webp", woff = "font/woff", woff2 = "font/woff2", ttf = "font/ttf",
  txt = "text/plain; charset=utf-8", wasm = "application/wasm",
}
local MAX_CACHE = 32 * 1024 * 1024
local RECHECK = 2

local cache, cached_bytes = {}, 0     -- path -> {body, etag, size, at}

function M.dir()
  local d = os.getenv("FLOWHOST_STUDIO_DIR")
  return (d and d ~= "") and d or "build/studio"
end

--- Whether rel is a name the studio may serve (see the header).
function M.safe(rel)
  if type(rel) ~= "string" or rel == "" or #rel > 200 or rel:sub(1, 1) == "/" then return false end
  for seg in (rel .. "/"):gmatch("([^/]*)/") do
    if seg == "" or seg:sub(1, 1) == "." or not seg:match("^[%w%._%-]+$") then return false end
  end
  return true
end

local function size_of(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local n = f:seek("end")
  f:close()
  return n
end

local function load(path)
  local hit = cache[path]
  local now = time.monotonic()
  if hit and now - hit.at < RECHECK then return hit end
  if hit and size_of(path) == hit.size then hit.at = now; return hit end
  local f = io.open(path, "rb")
  if not f then
    if hit then cache[path], cached_bytes = nil, cached_bytes - hit.size end
    return nil
  end
  local body = f:read("*a")
  f:close()
  if body == nil then return nil end           -- a folder
  if hit then cached_bytes = cached_bytes - hit.size end
  if cached_bytes + #body > MAX_CACHE then cache, cached_bytes = {}, 0 end
  local e = { body = body, size = #body, at = now, etag = '"' .. crypto.hex(crypto.sha256(body)):sub(1, 20) .. '"' }
  cache[path], cached_bytes = e, cached_bytes + #body
  return e
end

local PLACEHOLDER = [[<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>flowhost studio</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>flowhost studio</h1>
<p>The studio's page is not built on this host: there is no <code>%s/index.html</code>.</p>
<p>Build it from <code>vendor/studio/</code> (npm installs the pinned packages and
bundles them into that folder; see docs/studio.md), or point
<code>FLOWHOST_STUDIO_DIR</code> at a folder holding a built bundle.</p>
<p>The JSON API under <code>/studio/api/</code> works without it (docs/studio.md).</p>
</body></html>
]]

function M.serve(req, rel)
  if not M.safe(rel) then
    return 404, '{"error":"not found","message":"no such file"}', { ["Content-Type"] = "application/json" }
  end
  local e = load(M.dir() .. "/" .. rel)
  if not e then
    if rel == "index.html" then
      return 200, PLACEHOLDER:format(M.dir()), { ["Content-Type"] = TYPES.html, ["Cache-Control"] = "no-cache" }
    end
    return 404, '{"error":"not found","message":"no such file in the studio bundle"}', { ["Content-Type"] = "application/json" }
  end
  local ext = rel:match("%.(%w+)$")
  local headers = {
    ["Content-Type"] = TYPES[ext and ext:lower() or ""] or "application/octet-stream",
    ["Cache-Control"] = rel == "index.html" and "no-cache" or "public, max-age=3600",
    ["ETag"] = e.etag, ["X-Content-Type-Options"] = "nosniff",
  }
  if rel == "index.html" then
    headers["Content-Security-Policy"] = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'"
    headers["X-Frame-Options"] = "DENY"
  end
  if req.headers["if-none-match"] == e.etag then return 304, "", headers end
  return 200, e.body, headers
end

return M
