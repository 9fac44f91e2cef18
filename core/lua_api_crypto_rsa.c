/*
 * lua_api_crypto_rsa.c - RSA-SHA256 (RSASSA-PKCS1-v1_5) for the `crypto`
 * module: what a Google service-account JWT (RS256) needs.
 *
 *   crypto.rsa_sha256_sign(pem_private_key, msg) -> raw signature
 *       | nil, "bad key" (not a PEM private key, or not RSA) | nil, "sign failed"
 *   crypto.rsa_sha256_verify(pem_public_key, msg, sig) -> boolean
 *       | nil, "bad key"
 * Keys are PEM text: PKCS#8 "BEGIN PRIVATE KEY" or PKCS#1 "BEGIN RSA
 * PRIVATE KEY"; "BEGIN PUBLIC KEY" (or a private key) to verify. The key
 * never leaves OpenSSL's memory; it is freed before returning or raising.
 */
#include "lua_api.h"

#include <lauxlib.h>
#include <lua.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#define MAX_SIG 2048  /* bytes: a 16384-bit key */

/* PEM text -> a key (the caller frees it), NULL when it is not one. */
static EVP_PKEY *read_key(const char *pem, size_t len, int private)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *key = NULL;

    if (!bio)
        return NULL;
    if (private)
        key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    else {
        key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
        if (!key) {                    /* a private key holds the public one */
            (void)BIO_reset(bio);
            key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
        }
    }
    BIO_free(bio);
    if (key && EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
        EVP_PKEY_free(key);
        return NULL;
    }
    return key;
}

static int fail(lua_State *L, const char *word)
{
    lua_pushnil(L);
    lua_pushstring(L, word);
    return 2;
}

/* crypto.rsa_sha256_sign(pem, msg) -> signature | nil, word */
int fh__crypto_rsa_sign(lua_State *L)
{
    size_t klen, mlen, slen = 0;
    const char *pem = luaL_checklstring(L, 1, &klen);
    const char *msg = luaL_checklstring(L, 2, &mlen);
    /* scratch before the key exists: a memory error raises with nothing to free */
    unsigned char *sig = lua_newuserdata(L, MAX_SIG);
    EVP_PKEY *key = read_key(pem, klen, 1);
    EVP_MD_CTX *ctx = NULL;

    if (!key)
        return fail(L, "bad key");
    if (EVP_PKEY_get_size(key) > MAX_SIG)
        goto fail;
    ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) != 1)
        goto fail;
    slen = (size_t)EVP_PKEY_get_size(key);
    if (EVP_DigestSign(ctx, sig, &slen, (const unsigned char *)msg, mlen) != 1)
        goto fail;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    lua_pushlstring(L, (const char *)sig, slen);
    return 1;
fail:
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    return fail(L, "sign failed");
}

/* crypto.rsa_sha256_verify(pem, msg, sig) -> boolean | nil, "bad key" */
int fh__crypto_rsa_verify(lua_State *L)
{
    size_t klen, mlen, slen;
    const char *pem = luaL_checklstring(L, 1, &klen);
    const char *msg = luaL_checklstring(L, 2, &mlen);
    const char *sig = luaL_checklstring(L, 3, &slen);
    EVP_PKEY *key = read_key(pem, klen, 0);
    EVP_MD_CTX *ctx;
    int ok = 0;

    if (!key)
        return fail(L, "bad key");
    ctx = EVP_MD_CTX_new();
    if (ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) == 1)
        ok = EVP_DigestVerify(ctx, (const unsigned char *)sig, slen,
                              (const unsigned char *)msg, mlen) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    lua_pushboolean(L, ok);
    return 1;
}
