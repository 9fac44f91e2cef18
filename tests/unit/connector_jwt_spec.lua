-- RS256 signing (core/lua_api_crypto_rsa.c) and connectors.jwt. The test
-- key pair and the expected signature were made with the openssl command
-- line (tests/fixtures/connectors/README.md), not with our code.
local crypto = require "crypto"
local json = require "json"
local jwt = require "connectors.jwt"

local function read(name)
  local f = assert(io.open("tests/fixtures/connectors/" .. name, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local KEY, PUB = read("test_sa_key.pem"), read("test_sa_pub.pem")

describe("crypto.rsa_sha256_sign", function()
  it("gives the signature openssl dgst -sha256 -sign gives (PKCS#1 v1.5 is deterministic)", function()
    assert.are.equal(read("test_sa_sig_header.claims.hex"), crypto.hex(crypto.rsa_sha256_sign(KEY, "header.claims")))
  end)

  it("makes signatures rsa_sha256_verify accepts with the public key, and only for that message", function()
    local sig = crypto.rsa_sha256_sign(KEY, "hello")
    assert.are.equal(256, #sig)
    assert.is_true(crypto.rsa_sha256_verify(PUB, "hello", sig))
    assert.is_false(crypto.rsa_sha256_verify(PUB, "hellO", sig))
    assert.is_false(crypto.rsa_sha256_verify(PUB, "hello", sig:sub(1, 255) .. "x"))
  end)

  it("returns nil, 'bad key' for text that is not a PEM RSA private key", function()
    local v, err = crypto.rsa_sha256_sign("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "x")
    assert.is_nil(v)
    assert.are.equal("bad key", err)
    assert.are.same({ nil, "bad key" }, { crypto.rsa_sha256_sign(PUB, "x") })
  end)

  it("raises when the message is not a string", function()
    assert.has_error(function() crypto.rsa_sha256_sign(KEY, nil) end)
  end)
end)

describe("jwt.rs256", function()
  it("makes header.claims.signature with alg RS256 and the kid, verifiable with the public key", function()
    local token = assert(jwt.rs256({ iss = "bot@p.iam.gserviceaccount.com", aud = "http://x/token", iat = 10, exp = 3610 },
      KEY, "kid-1"))
    local h, c, s = token:match("^([^.]+)%.([^.]+)%.([^.]+)$")
    assert.are.same({ alg = "RS256", typ = "JWT", kid = "kid-1" }, json.decode(crypto.unbase64url(h)))
    assert.are.equal(3610, json.decode(crypto.unbase64url(c)).exp)
    assert.is_true(crypto.rsa_sha256_verify(PUB, h .. "." .. c, crypto.unbase64url(s)))
    assert.are.equal("bot@p.iam.gserviceaccount.com", jwt.verify_rs256(token, PUB).iss)
  end)

  it("verify_rs256 refuses a token whose claims were changed after signing", function()
    local token = jwt.rs256({ sub = "a" }, KEY)
    local h, _, s = token:match("^([^.]+)%.([^.]+)%.([^.]+)$")
    local forged = h .. "." .. crypto.base64url(json.encode{ sub = "b" }) .. "." .. s
    assert.are.same({ nil, "bad signature" }, { jwt.verify_rs256(forged, PUB) })
  end)

  it("returns nil, 'bad key' for a key that is not one", function()
    assert.are.same({ nil, "bad key" }, { jwt.rs256({ a = 1 }, "not a key") })
  end)
end)
