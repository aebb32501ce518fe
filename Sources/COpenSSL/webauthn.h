#ifndef AUTHGATE_COPENSSL_WEBAUTHN_H
#define AUTHGATE_COPENSSL_WEBAUTHN_H
/* Public keys from raw COSE parameters and signature checks for WebAuthn (AuthWebAuthn), plus the
   key generation and signing the tests' software authenticator needs. Every function returns
   NULL or 0 on failure and never hands OpenSSL a NULL buffer. */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <stddef.h>

enum { AUTHGATE_KEY_P256 = 1, AUTHGATE_KEY_ED25519 = 2, AUTHGATE_KEY_RSA = 3 };

static const unsigned char authgate_webauthn_empty = 0;
static inline const void *authgate_wa_nonnull(const void *p) { return p ? p : &authgate_webauthn_empty; }

/* The point must be on the curve: EVP_PKEY_public_check after the import. */
static inline EVP_PKEY *authgate_pkey_p256(const void *point, size_t len) {
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    int ok = bld && ctx && len == 65;
    ok = ok && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0) == 1;
    ok = ok && OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, len) == 1;
    ok = ok && (params = OSSL_PARAM_BLD_to_param(bld)) != NULL;
    ok = ok && EVP_PKEY_fromdata_init(ctx) == 1 && EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) == 1;
    if (ok) {
        EVP_PKEY_CTX *check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
        ok = check && EVP_PKEY_public_check(check) == 1;
        EVP_PKEY_CTX_free(check);
    }
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    if (!ok) { EVP_PKEY_free(pkey); return NULL; }
    return pkey;
}

static inline EVP_PKEY *authgate_pkey_ed25519(const void *pub, size_t len) {
    if (len != 32) return NULL;
    return EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, (const unsigned char *)pub, len);
}

static inline EVP_PKEY *authgate_pkey_rsa(const void *n, size_t nlen, const void *e, size_t elen) {
    EVP_PKEY *pkey = NULL;
    if (nlen == 0 || elen == 0 || nlen > 0x7fffffff || elen > 0x7fffffff) return NULL;
    BIGNUM *bn = BN_bin2bn((const unsigned char *)n, (int)nlen, NULL);
    BIGNUM *be = BN_bin2bn((const unsigned char *)e, (int)elen, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    int ok = bn && be && bld && ctx;
    ok = ok && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) == 1;
    ok = ok && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) == 1;
    ok = ok && (params = OSSL_PARAM_BLD_to_param(bld)) != NULL;
    ok = ok && EVP_PKEY_fromdata_init(ctx) == 1 && EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) == 1;
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    BN_free(bn);
    BN_free(be);
    if (!ok) { EVP_PKEY_free(pkey); return NULL; }
    return pkey;
}

/* The subject public key of a DER X.509 certificate (packed attestation's x5c[0]); the whole
   input must be the certificate. */
static inline EVP_PKEY *authgate_pkey_from_certificate(const void *der, size_t len) {
    if (len == 0 || len > 0x7fffffff) return NULL;
    const unsigned char *p = (const unsigned char *)der;
    X509 *cert = d2i_X509(NULL, &p, (long)len);
    if (!cert) return NULL;
    EVP_PKEY *pkey = (p == (const unsigned char *)der + len) ? X509_get_pubkey(cert) : NULL;
    X509_free(cert);
    return pkey;
}

static inline int authgate_pkey_bits(const EVP_PKEY *pkey) { return EVP_PKEY_get_bits(pkey); }
static inline int authgate_pkey_is(const EVP_PKEY *pkey, const char *name) { return EVP_PKEY_is_a(pkey, name); }

/* One-shot verify: SHA-256 with ECDSA (DER signature) or RSA PKCS#1 v1.5 when sha256 is 1;
   pure Ed25519 when 0. 1 = valid, 0 = invalid or error. */
static inline int authgate_pkey_verify(EVP_PKEY *pkey, int sha256, const void *msg, size_t msglen,
                                       const void *sig, size_t siglen) {
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md) return 0;
    int ok = EVP_DigestVerifyInit_ex(md, NULL, sha256 ? "SHA256" : NULL, NULL, NULL, pkey, NULL) == 1
        && EVP_DigestVerify(md, (const unsigned char *)authgate_wa_nonnull(sig), siglen,
                            (const unsigned char *)authgate_wa_nonnull(msg), msglen) == 1;
    EVP_MD_CTX_free(md);
    return ok;
}

/* --- The tests' software authenticator (Tests/WebAuthnTestSupport) --- */

static inline EVP_PKEY *authgate_pkey_generate(int kind, unsigned int rsa_bits) {
    const char *name = kind == AUTHGATE_KEY_P256 ? "EC" : kind == AUTHGATE_KEY_ED25519 ? "ED25519" : "RSA";
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, name, NULL);
    int ok = ctx && EVP_PKEY_keygen_init(ctx) == 1;
    if (ok && kind == AUTHGATE_KEY_P256) ok = EVP_PKEY_CTX_set_group_name(ctx, "P-256") == 1;
    if (ok && kind == AUTHGATE_KEY_RSA) ok = EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)rsa_bits) == 1;
    ok = ok && EVP_PKEY_generate(ctx, &pkey) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) { EVP_PKEY_free(pkey); return NULL; }
    return pkey;
}

/* *siglen: the capacity of sig in, the signature's length out. */
static inline int authgate_pkey_sign(EVP_PKEY *pkey, int sha256, const void *msg, size_t msglen,
                                     void *sig, size_t *siglen) {
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md) return 0;
    int ok = EVP_DigestSignInit_ex(md, NULL, sha256 ? "SHA256" : NULL, NULL, NULL, pkey, NULL) == 1
        && EVP_DigestSign(md, (unsigned char *)sig, siglen, (const unsigned char *)authgate_wa_nonnull(msg), msglen) == 1;
    EVP_MD_CTX_free(md);
    return ok;
}

/* A big-number parameter (EC x/y, RSA n/e) as big-endian bytes, left-padded to pad bytes when pad
   is non-zero; *len: capacity in, length out. */
static inline int authgate_pkey_bn_param(const EVP_PKEY *pkey, const char *name, size_t pad, void *out, size_t *len) {
    BIGNUM *bn = NULL;
    if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) return 0;
    size_t n = pad ? pad : (size_t)BN_num_bytes(bn);
    int ok = n <= *len && n <= 0x7fffffff && BN_bn2binpad(bn, (unsigned char *)out, (int)n) == (int)n;
    if (ok) *len = n;
    BN_free(bn);
    return ok;
}

static inline int authgate_pkey_raw_public(const EVP_PKEY *pkey, void *out, size_t *len) {
    return EVP_PKEY_get_raw_public_key(pkey, (unsigned char *)out, len) == 1;
}
#endif
