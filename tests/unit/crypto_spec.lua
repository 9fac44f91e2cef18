-- Unit spec for the `crypto` Lua module (core/lua_api_crypto.c).
local crypto = require("crypto")

local function all_bytes()
  local t = {}
  for i = 0, 255 do t[#t + 1] = string.char(i) end
  return table.concat(t)
end

describe("crypto.hmac_sha256", function()
  it("matches RFC 4231 test case 1", function()
    local key = string.rep("\11", 20)
    assert.are.equal(
      "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
      crypto.hex(crypto.hmac_sha256(key, "Hi There")))
  end)

  it("matches RFC 4231 test case 2", function()
    assert.are.equal(
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
      crypto.hex(crypto.hmac_sha256("Jefe", "what do ya want for nothing?")))
  end)

  it("returns a raw 32-byte string", function()
    assert.are.equal(32, #crypto.hmac_sha256("k", "m"))
  end)

  it("raises when the key is nil", function()
    assert.has_error(function() crypto.hmac_sha256(nil, "x") end)
  end)
end)

describe("crypto.hmac_sha1", function()
  it("matches RFC 2202 test case 1", function()
    local key = string.rep("\11", 20)
    assert.are.equal("b617318655057264e28bc0b6fb378c8ef146be00",
      crypto.hex(crypto.hmac_sha1(key, "Hi There")))
  end)

  it("matches RFC 2202 test case 2", function()
    assert.are.equal("effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
      crypto.hex(crypto.hmac_sha1("Jefe", "what do ya want for nothing?")))
  end)
end)

describe("crypto.sha256", function()
  it("hashes the empty string to the known digest", function()
    assert.are.equal(
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      crypto.hex(crypto.sha256("")))
  end)

  it("hashes \"abc\" to the FIPS 180-2 digest", function()
    assert.are.equal(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
      crypto.hex(crypto.sha256("abc")))
  end)
end)

describe("crypto.sha1", function()
  it("hashes \"abc\" to the FIPS 180-2 digest", function()
    assert.are.equal("a9993e364706816aba3e25717850c26c9cd0d89d",
      crypto.hex(crypto.sha1("abc")))
  end)
end)

describe("crypto.hex and crypto.unhex", function()
  it("encodes bytes as lowercase hex", function()
    assert.are.equal("00ff10ab", crypto.hex("\0\255\16\171"))
  end)

  it("round-trips every byte value", function()
    local raw = all_bytes()
    assert.are.equal(raw, crypto.unhex(crypto.hex(raw)))
  end)

  it("accepts uppercase hex digits", function()
    assert.are.equal("\171\205", crypto.unhex("ABcd"))
  end)

  it("returns nil and \"bad hex\" for non-hex characters", function()
    local raw, err = crypto.unhex("zz")
    assert.is_nil(raw)
    assert.are.equal("bad hex", err)
  end)

  it("returns nil and \"bad hex\" for an odd-length string", function()
    local raw, err = crypto.unhex("abc")
    assert.is_nil(raw)
    assert.are.equal("bad hex", err)
  end)
end)

describe("crypto.base64 and crypto.unbase64", function()
  local vectors = {
    { "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
    { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
  }

  for _, v in ipairs(vectors) do
    it(("encodes %q as the RFC 4648 vector %q"):format(v[1], v[2]), function()
      assert.are.equal(v[2], crypto.base64(v[1]))
    end)

    it(("decodes the RFC 4648 vector %q back to %q"):format(v[2], v[1]), function()
      assert.are.equal(v[1], crypto.unbase64(v[2]))
    end)
  end

  it("accepts input with the padding left off", function()
    assert.are.equal("f", crypto.unbase64("Zg"))
    assert.are.equal("fooba", crypto.unbase64("Zm9vYmE"))
  end)

  it("returns nil and \"bad base64\" for characters outside the alphabet", function()
    local raw, err = crypto.unbase64("@@@")
    assert.is_nil(raw)
    assert.are.equal("bad base64", err)
  end)

  it("rejects URL-safe characters in standard base64", function()
    assert.is_nil(crypto.unbase64("-_8="))
  end)

  it("rejects padding that is incomplete or misplaced", function()
    assert.is_nil(crypto.unbase64("Zg="))
    assert.is_nil(crypto.unbase64("Z=g="))
    assert.is_nil(crypto.unbase64("Zm9v===="))
  end)

  it("rejects a length that cannot come from base64", function()
    assert.is_nil(crypto.unbase64("Zm9vY"))
  end)
end)

describe("crypto.base64url and crypto.unbase64url", function()
  it("round-trips every byte value 0..255", function()
    local raw = all_bytes()
    assert.are.equal(raw, crypto.unbase64url(crypto.base64url(raw)))
  end)

  it("uses the URL-safe alphabet without padding", function()
    local enc = crypto.base64url(all_bytes())
    assert.is_nil(enc:find("[+/=]"))
    assert.are.equal("-_8", crypto.base64url("\251\255"))
  end)

  it("rejects standard-alphabet characters", function()
    local raw, err = crypto.unbase64url("+/8")
    assert.is_nil(raw)
    assert.are.equal("bad base64", err)
  end)
end)

describe("crypto.random", function()
  it("returns exactly the requested number of bytes", function()
    assert.are.equal(1, #crypto.random(1))
    assert.are.equal(32, #crypto.random(32))
    assert.are.equal(65536, #crypto.random(65536))
  end)

  it("returns different bytes on two calls", function()
    assert.are_not.equal(crypto.random(32), crypto.random(32))
  end)

  it("raises for a count outside 1..65536", function()
    assert.has_error(function() crypto.random(0) end)
    assert.has_error(function() crypto.random(65537) end)
  end)
end)

describe("crypto.random_hex", function()
  it("returns lowercase hex for the requested number of bytes", function()
    local h = crypto.random_hex(16)
    assert.are.equal(32, #h)
    assert.is_truthy(h:match("^[0-9a-f]+$"))
  end)
end)

describe("crypto.equal", function()
  it("returns true for identical strings", function()
    assert.is_true(crypto.equal("secret", "secret"))
  end)

  it("returns false for different strings of the same length", function()
    assert.is_false(crypto.equal("secret", "secreT"))
  end)

  it("returns false for strings of different lengths", function()
    assert.is_false(crypto.equal("secret", "secret!"))
  end)
end)

describe("crypto.random from the per-thread block", function()
  local crypto = require "crypto"
  it("hands out distinct values across block refills, and large requests directly", function()
    local seen, n = {}, 0
    for _ = 1, 1000 do                       -- 16 KB: four refills of the 4 KB block
      local t = crypto.random_hex(16)
      assert.are.equal(32, #t)
      assert.is_nil(seen[t])
      seen[t] = true
      n = n + 1
    end
    assert.are.equal(1000, n)
    local big = crypto.random(5000)
    assert.are.equal(5000, #big)
    assert.are_not.equal(big:sub(1, 16), crypto.random(5000):sub(1, 16))
  end)
end)
