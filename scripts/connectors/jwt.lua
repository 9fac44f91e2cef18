--- connectors.jwt: RS256 JSON Web Tokens (RFC 7515/7519), as a Google
--- service account signs its token request.
--
--   jwt.rs256(claims, pem, kid?) -> token | nil, "bad key"
--       header {"alg":"RS256","typ":"JWT","kid":kid}; signature RSASSA-
--       PKCS1-v1_5 with SHA-256 over b64url(header) .. "." .. b64url(claims)
--   jwt.verify_rs256(token, pem_public) -> claims | nil, why
--       (for tests and fakes: checks the header's alg and the signature)
-- Pure; never yields.
local crypto = require "crypto"
local json = require "json"

local M = {}

local function part(t) return crypto.base64url(json.encode(t)) end

function M.rs256(claims, pem, kid)
  if type(claims) ~= "table" then error("jwt.rs256(claims, pem, kid?): claims must be a table", 2) end
  if type(pem) ~= "string" then error("jwt.rs256(claims, pem, kid?): pem must be a string", 2) end
  local input = part{ alg = "RS256", typ = "JWT", kid = kid } .. "." .. part(claims)
  local sig, err = crypto.rsa_sha256_sign(pem, input)
  if not sig then return nil, err end
  return input .. "." .. crypto.base64url(sig)
end

function M.verify_rs256(token, pem)
  local h, c, s = tostring(token):match("^([%w_%-]+)%.([%w_%-]+)%.([%w_%-]+)$")
  if not h then return nil, "not a JWT" end
  local ok, header = pcall(json.decode, crypto.unbase64url(h) or "")
  if not ok or type(header) ~= "table" or header.alg ~= "RS256" then return nil, "not RS256" end
  local sig = crypto.unbase64url(s)
  if not sig then return nil, "bad signature encoding" end
  local good, err = crypto.rsa_sha256_verify(pem, h .. "." .. c, sig)
  if good == nil then return nil, err end
  if not good then return nil, "bad signature" end
  local ok2, claims = pcall(json.decode, crypto.unbase64url(c) or "")
  if not ok2 or type(claims) ~= "table" then return nil, "bad claims" end
  return claims
end

return M
