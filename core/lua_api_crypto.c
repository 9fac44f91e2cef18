/*
 * lua_api_crypto.c - the `crypto` Lua module (OpenSSL 3 backed).
 *
 * Contract:
 *   fh_lua_open_crypto(L) pushes a fresh module table and returns 1; it sets
 *   no globals. All functions take and return Lua strings as raw bytes.
 *   - hmac_sha256(key, msg), hmac_sha1(key, msg), sha256(s), sha1(s)
 *       -> raw digest (32 / 20 / 32 / 20 bytes)
 *   - hex(raw) -> lowercase hex;  unhex(hex) -> raw | nil, "bad hex"
 *       (either case accepted, odd length rejected)
 *   - base64(raw) -> standard alphabet, padded;
 *     base64url(raw) -> URL-safe alphabet, unpadded;
 *     unbase64(s) / unbase64url(s) -> raw | nil, "bad base64"
 *       (padding optional but must be correct if present; characters
 *        outside the alphabet, including whitespace, and non-zero
 *        trailing bits are rejected)
 *   - random(n) / random_hex(n) -> n CSPRNG bytes (raw / hex), 1 <= n <= 65536
 *   - equal(a, b) -> boolean; constant time for equal lengths,
 *       false (immediately) for different lengths.
 *   - rsa_sha256_sign(pem, msg), rsa_sha256_verify(pem, msg, sig): RS256,
 *       in lua_api_crypto_rsa.c
 * Misuse (wrong argument types, n out of range) raises a Lua error.
 * Library failure returns nil plus a short message. Scratch memory is Lua
 * userdata, so nothing leaks when a Lua error unwinds.
 */
#include "lua_api.h"

#include <stddef.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define FH_CRYPTO_RANDOM_MAX 65536

static const char HEX_DIGITS[] = "0123456789abcdef";
static const char B64_STD[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char B64_URL[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Push nil and a short failure word; returns the Lua result count. */
static int push_fail(lua_State *L, const char *word)
{
    lua_pushnil(L);
    lua_pushstring(L, word);
    return 2;
}

/* HMAC of arg 2 keyed by arg 1 with the named digest, via EVP_Q_mac. */
static int hmac_with(lua_State *L, const char *digest)
{
    size_t klen, mlen, outlen = 0;
    const char *key = luaL_checklstring(L, 1, &klen);
    const char *msg = luaL_checklstring(L, 2, &mlen);
    unsigned char out[EVP_MAX_MD_SIZE];

    if (EVP_Q_mac(NULL, "HMAC", NULL, digest, NULL, key, klen,
                  (const unsigned char *)msg, mlen,
                  out, sizeof out, &outlen) == NULL)
        return push_fail(L, "hmac failed");
    lua_pushlstring(L, (const char *)out, outlen);
    return 1;
}

/* crypto.hmac_sha256(key, msg) -> raw 32-byte MAC. */
static int l_hmac_sha256(lua_State *L)
{
    return hmac_with(L, "SHA256");
}

/* crypto.hmac_sha1(key, msg) -> raw 20-byte MAC. */
static int l_hmac_sha1(lua_State *L)
{
    return hmac_with(L, "SHA1");
}

/* Digest of arg 1 with the given EVP_MD. */
static int digest_with(lua_State *L, const EVP_MD *md)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int outlen = 0;

    if (md == NULL || EVP_Digest(s, len, out, &outlen, md, NULL) != 1)
        return push_fail(L, "digest failed");
    lua_pushlstring(L, (const char *)out, outlen);
    return 1;
}

/* crypto.sha256(s) -> raw 32-byte digest. */
static int l_sha256(lua_State *L)
{
    return digest_with(L, EVP_sha256());
}

/* crypto.sha1(s) -> raw 20-byte digest. */
static int l_sha1(lua_State *L)
{
    return digest_with(L, EVP_sha1());
}

/* Push the lowercase hex encoding of len bytes at p. */
static void push_hex(lua_State *L, const unsigned char *p, size_t len)
{
    luaL_Buffer b;
    size_t i;

    luaL_buffinit(L, &b);
    for (i = 0; i < len; i++) {
        luaL_addchar(&b, HEX_DIGITS[p[i] >> 4]);
        luaL_addchar(&b, HEX_DIGITS[p[i] & 0x0f]);
    }
    luaL_pushresult(&b);
}

/* Value of one hex digit, or -1. */
static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* crypto.hex(raw) -> lowercase hex string. */
static int l_hex(lua_State *L)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);

    push_hex(L, (const unsigned char *)s, len);
    return 1;
}

/* crypto.unhex(hex) -> raw | nil, "bad hex". */
static int l_unhex(lua_State *L)
{
    size_t len, i;
    const unsigned char *s =
        (const unsigned char *)luaL_checklstring(L, 1, &len);
    luaL_Buffer b;

    if (len % 2 != 0)
        return push_fail(L, "bad hex");
    for (i = 0; i < len; i++)
        if (hex_value(s[i]) < 0)
            return push_fail(L, "bad hex");
    luaL_buffinit(L, &b);
    for (i = 0; i < len; i += 2)
        luaL_addchar(&b, (char)((hex_value(s[i]) << 4) | hex_value(s[i + 1])));
    luaL_pushresult(&b);
    return 1;
}

/* Push base64 of arg 1 using alphabet abc, padding with '=' if pad. */
static int encode_b64(lua_State *L, const char *abc, int pad)
{
    size_t len, i;
    const unsigned char *s =
        (const unsigned char *)luaL_checklstring(L, 1, &len);
    luaL_Buffer b;

    luaL_buffinit(L, &b);
    for (i = 0; i + 3 <= len; i += 3) {
        unsigned long v = ((unsigned long)s[i] << 16) |
                          ((unsigned long)s[i + 1] << 8) | s[i + 2];
        luaL_addchar(&b, abc[(v >> 18) & 63]);
        luaL_addchar(&b, abc[(v >> 12) & 63]);
        luaL_addchar(&b, abc[(v >> 6) & 63]);
        luaL_addchar(&b, abc[v & 63]);
    }
    if (len - i == 1) {
        unsigned long v = (unsigned long)s[i] << 16;
        luaL_addchar(&b, abc[(v >> 18) & 63]);
        luaL_addchar(&b, abc[(v >> 12) & 63]);
        if (pad)
            luaL_addlstring(&b, "==", 2);
    } else if (len - i == 2) {
        unsigned long v = ((unsigned long)s[i] << 16) |
                          ((unsigned long)s[i + 1] << 8);
        luaL_addchar(&b, abc[(v >> 18) & 63]);
        luaL_addchar(&b, abc[(v >> 12) & 63]);
        luaL_addchar(&b, abc[(v >> 6) & 63]);
        if (pad)
            luaL_addchar(&b, '=');
    }
    luaL_pushresult(&b);
    return 1;
}

/* Index of c in the 64-char alphabet abc, or -1 (never matches NUL). */
static int b64_value(const char *abc, unsigned char c)
{
    const char *hit;

    if (c == '\0')
        return -1;
    hit = memchr(abc, c, 64);
    return hit ? (int)(hit - abc) : -1;
}

/* Decode arg 1 with alphabet abc; optional padding; strict otherwise. */
static int decode_b64(lua_State *L, const char *abc)
{
    size_t len, n, i;
    const unsigned char *s =
        (const unsigned char *)luaL_checklstring(L, 1, &len);
    unsigned long acc = 0;
    int bits = 0;
    luaL_Buffer b;

    n = len;
    if (n > 0 && s[n - 1] == '=')
        n--;
    if (n > 0 && s[n - 1] == '=')
        n--;
    if (n != len && len % 4 != 0)
        return push_fail(L, "bad base64");     /* partial padding */
    if (n % 4 == 1)
        return push_fail(L, "bad base64");     /* impossible length */
    for (i = 0; i < n; i++)
        if (b64_value(abc, s[i]) < 0)
            return push_fail(L, "bad base64");

    luaL_buffinit(L, &b);
    for (i = 0; i < n; i++) {
        acc = (acc << 6) | (unsigned long)b64_value(abc, s[i]);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            luaL_addchar(&b, (char)((acc >> bits) & 0xff));
        }
    }
    luaL_pushresult(&b);
    if ((acc & ((1UL << bits) - 1)) != 0) {
        lua_pop(L, 1);
        return push_fail(L, "bad base64");     /* non-canonical tail */
    }
    return 1;
}

/* crypto.base64(raw) -> standard padded base64. */
static int l_base64(lua_State *L)
{
    return encode_b64(L, B64_STD, 1);
}

/* crypto.unbase64(s) -> raw | nil, "bad base64". */
static int l_unbase64(lua_State *L)
{
    return decode_b64(L, B64_STD);
}

/* crypto.base64url(raw) -> URL-safe base64 without padding. */
static int l_base64url(lua_State *L)
{
    return encode_b64(L, B64_URL, 0);
}

/* crypto.unbase64url(s) -> raw | nil, "bad base64". */
static int l_unbase64url(lua_State *L)
{
    return decode_b64(L, B64_URL);
}

/* Check arg 1 is a byte count in range and fill Lua-owned scratch with
 * that many CSPRNG bytes; returns the scratch or NULL on RNG failure. */
/* Small requests (lock tokens, ids: one or more per turn) are served from a
 * per-thread block of the generator's output, refilled 4 KB at a time, and
 * each byte handed out is wiped from the block: one RAND_bytes call (with
 * its locking and fork check) per 256 tokens instead of one per token. */
#define RANDOM_BLOCK 4096
static __thread unsigned char random_block[RANDOM_BLOCK];
static __thread size_t random_left;

static int random_fill(unsigned char *out, size_t n)
{
    if (n > RANDOM_BLOCK / 4)
        return RAND_bytes(out, (int)n) == 1;
    if (random_left < n) {
        if (RAND_bytes(random_block, RANDOM_BLOCK) != 1)
            return 0;
        random_left = RANDOM_BLOCK;
    }
    unsigned char *p = random_block + (RANDOM_BLOCK - random_left);
    memcpy(out, p, n);
    OPENSSL_cleanse(p, n);
    random_left -= n;
    return 1;
}

static unsigned char *random_scratch(lua_State *L, size_t *out_len)
{
    lua_Integer n = luaL_checkinteger(L, 1);
    unsigned char *buf;

    luaL_argcheck(L, n >= 1 && n <= FH_CRYPTO_RANDOM_MAX, 1,
                  "must be between 1 and 65536");
    buf = lua_newuserdata(L, (size_t)n);
    if (!random_fill(buf, (size_t)n))
        return NULL;
    *out_len = (size_t)n;
    return buf;
}

/* crypto.random(n) -> n secure random bytes | nil, "rng failed". */
static int l_random(lua_State *L)
{
    size_t len = 0;
    unsigned char *buf = random_scratch(L, &len);

    if (buf == NULL)
        return push_fail(L, "rng failed");
    lua_pushlstring(L, (const char *)buf, len);
    OPENSSL_cleanse(buf, len);
    return 1;
}

/* crypto.random_hex(n) -> hex of n secure random bytes | nil, "rng failed". */
static int l_random_hex(lua_State *L)
{
    size_t len = 0;
    unsigned char *buf = random_scratch(L, &len);

    if (buf == NULL)
        return push_fail(L, "rng failed");
    push_hex(L, buf, len);
    OPENSSL_cleanse(buf, len);
    return 1;
}

/* crypto.equal(a, b) -> boolean; CRYPTO_memcmp when lengths match. */
static int l_equal(lua_State *L)
{
    size_t alen, blen;
    const char *a = luaL_checklstring(L, 1, &alen);
    const char *b = luaL_checklstring(L, 2, &blen);

    lua_pushboolean(L, alen == blen && CRYPTO_memcmp(a, b, alen) == 0);
    return 1;
}

static const luaL_Reg crypto_funcs[] = {
    {"hmac_sha256", l_hmac_sha256},
    {"hmac_sha1", l_hmac_sha1},
    {"sha256", l_sha256},
    {"sha1", l_sha1},
    {"hex", l_hex},
    {"unhex", l_unhex},
    {"base64", l_base64},
    {"unbase64", l_unbase64},
    {"base64url", l_base64url},
    {"unbase64url", l_unbase64url},
    {"random", l_random},
    {"random_hex", l_random_hex},
    {"equal", l_equal},
    {"rsa_sha256_sign", fh__crypto_rsa_sign},
    {"rsa_sha256_verify", fh__crypto_rsa_verify},
    {NULL, NULL}
};

/* Push a new `crypto` module table; sets no globals. */
int fh_lua_open_crypto(lua_State *L)
{
    luaL_newlib(L, crypto_funcs);
    return 1;
}
