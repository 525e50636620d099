/* See tls.h. The engine follows the shape of nng's own mbed TLS engine
 * (src/supplemental/tls/mbedtls/tls.c, MIT): same calls, same error
 * mapping, plus the peer name, a narrower suite list and getrandom(). */
#include "rpc/tls.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <mbedtls/ecp.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/oid.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ciphersuites.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crl.h>
#include <mbedtls/x509_crt.h>
#include <nng/supplemental/tls/engine.h>

#define ENGINE_NAME "mimamori-mbedtls"

struct nng_tls_engine_config {
	mbedtls_ssl_config conf;
	mbedtls_x509_crt ca;
	mbedtls_x509_crl crl;
	mbedtls_x509_crt own_crt;
	mbedtls_pk_context own_key;
	bool have_own;
	char *server_name;
};

struct nng_tls_engine_conn {
	mbedtls_ssl_context ssl;
};

/* What the last "verified" call on this thread saw; read back by
 * rpc_tls_peer_name() on the same thread, inside one nng_pipe_get_bool. */
static _Thread_local struct {
	bool set;
	bool verified;
	char name[RPC_PEER_NAME_MAX + 1];
} peer_probe;

/* Forward secrecy and AEAD only; ECDSA first (the cluster CA issues
 * P-256 keys), RSA for sites whose CA does not. */
static const int suites[] = {
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	0,
};

/* Key exchange and certificate curves, cheapest first: mbed TLS's default
 * order starts with P-521. */
static const mbedtls_ecp_group_id curves[] = {
	MBEDTLS_ECP_DP_CURVE25519,
	MBEDTLS_ECP_DP_SECP256R1,
	MBEDTLS_ECP_DP_SECP384R1,
	MBEDTLS_ECP_DP_NONE,
};

/* The kernel's CSPRNG: thread-safe, no DRBG state to share or lock. */
static int random_bytes(void *arg, unsigned char *buf, size_t len)
{
	(void)arg;
	while (len > 0) {
		ssize_t n = getrandom(buf, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return MBEDTLS_ERR_SSL_INTERNAL_ERROR;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int nng_error(int mbed)
{
	switch (mbed) {
	case MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE:
	case MBEDTLS_ERR_SSL_CA_CHAIN_REQUIRED:
	case MBEDTLS_ERR_SSL_PEER_VERIFY_FAILED:
	case MBEDTLS_ERR_SSL_NO_USABLE_CIPHERSUITE:
	case MBEDTLS_ERR_X509_CERT_VERIFY_FAILED:
		return NNG_EPEERAUTH;
	case MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY:
		return NNG_ECONNREFUSED;
	case MBEDTLS_ERR_SSL_ALLOC_FAILED:
		return NNG_ENOMEM;
	case MBEDTLS_ERR_SSL_TIMEOUT:
		return NNG_ETIMEDOUT;
	case MBEDTLS_ERR_SSL_CONN_EOF:
		return NNG_ECLOSED;
	default:
		return NNG_ECRYPTO;
	}
}

static int bio_send(void *tls, const unsigned char *buf, size_t len)
{
	size_t n = len;
	switch (nng_tls_engine_send(tls, buf, &n)) {
	case 0:
		return (int)n;
	case NNG_EAGAIN:
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	default:
		return MBEDTLS_ERR_NET_SEND_FAILED;
	}
}

static int bio_recv(void *tls, unsigned char *buf, size_t len)
{
	size_t n = len;
	switch (nng_tls_engine_recv(tls, buf, &n)) {
	case 0:
		return (int)n;
	case NNG_EAGAIN:
		return MBEDTLS_ERR_SSL_WANT_READ;
	default:
		return MBEDTLS_ERR_NET_RECV_FAILED;
	}
}

/* ---- connections ---- */

static int conn_init(nng_tls_engine_conn *ec, void *tls, nng_tls_engine_config *cfg)
{
	mbedtls_ssl_init(&ec->ssl);
	mbedtls_ssl_set_bio(&ec->ssl, tls, bio_send, bio_recv, NULL);
	int rv = mbedtls_ssl_setup(&ec->ssl, &cfg->conf);
	if (rv != 0)
		return nng_error(rv);
	if (cfg->server_name != NULL && (rv = mbedtls_ssl_set_hostname(&ec->ssl, cfg->server_name)) != 0)
		return nng_error(rv);
	return 0;
}

static void conn_fini(nng_tls_engine_conn *ec)
{
	mbedtls_ssl_free(&ec->ssl);
}

static void conn_close(nng_tls_engine_conn *ec)
{
	/* Best effort, as nng's engine: nothing relies on close-notify. */
	(void)mbedtls_ssl_close_notify(&ec->ssl);
}

static int want_io(int rv)
{
	return rv == MBEDTLS_ERR_SSL_WANT_READ || rv == MBEDTLS_ERR_SSL_WANT_WRITE;
}

static int conn_recv(nng_tls_engine_conn *ec, uint8_t *buf, size_t *szp)
{
	int rv = mbedtls_ssl_read(&ec->ssl, buf, *szp);
	if (rv < 0)
		return want_io(rv) ? NNG_EAGAIN : nng_error(rv);
	*szp = (size_t)rv;
	return 0;
}

static int conn_send(nng_tls_engine_conn *ec, const uint8_t *buf, size_t *szp)
{
	int rv = mbedtls_ssl_write(&ec->ssl, buf, *szp);
	if (rv < 0)
		return want_io(rv) ? NNG_EAGAIN : nng_error(rv);
	*szp = (size_t)rv;
	return 0;
}

static int conn_handshake(nng_tls_engine_conn *ec)
{
	int rv = mbedtls_ssl_handshake(&ec->ssl);
	if (rv == 0)
		return 0;
	return want_io(rv) ? NNG_EAGAIN : nng_error(rv);
}

/* The subject's single common name if it is usable as a node name. Two
 * CNs would let a certificate claim either: refused. */
static bool common_name(const mbedtls_x509_crt *crt, char out[RPC_PEER_NAME_MAX + 1])
{
	const mbedtls_x509_name *cn = NULL;
	for (const mbedtls_x509_name *n = &crt->subject; n != NULL; n = n->next) {
		if (n->oid.p == NULL || MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) != 0)
			continue;
		if (cn != NULL)
			return false;
		cn = n;
	}
	if (cn == NULL || cn->val.p == NULL || cn->val.len == 0 || cn->val.len > RPC_PEER_NAME_MAX)
		return false;
	for (size_t i = 0; i < cn->val.len; i++) {
		unsigned char c = cn->val.p[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '.' || c == '-' || c == '_';
		if (!ok)
			return false;
	}
	memcpy(out, cn->val.p, cn->val.len);
	out[cn->val.len] = '\0';
	return true;
}

static bool conn_verified(nng_tls_engine_conn *ec)
{
	const mbedtls_x509_crt *peer = mbedtls_ssl_get_peer_cert(&ec->ssl);
	bool ok = peer != NULL && mbedtls_ssl_get_verify_result(&ec->ssl) == 0;
	peer_probe.set = true;
	peer_probe.verified = ok;
	peer_probe.name[0] = '\0';
	if (ok && !common_name(peer, peer_probe.name))
		peer_probe.name[0] = '\0';
	return ok;
}

/* ---- configurations ---- */

static void config_fini(nng_tls_engine_config *cfg)
{
	mbedtls_ssl_config_free(&cfg->conf);
	mbedtls_x509_crt_free(&cfg->ca);
	mbedtls_x509_crl_free(&cfg->crl);
	mbedtls_x509_crt_free(&cfg->own_crt);
	mbedtls_pk_free(&cfg->own_key);
	free(cfg->server_name);
	cfg->server_name = NULL;
}

static int config_init(nng_tls_engine_config *cfg, nng_tls_mode mode)
{
	bool server = mode == NNG_TLS_MODE_SERVER;
	mbedtls_ssl_config_init(&cfg->conf);
	mbedtls_x509_crt_init(&cfg->ca);
	mbedtls_x509_crl_init(&cfg->crl);
	mbedtls_x509_crt_init(&cfg->own_crt);
	mbedtls_pk_init(&cfg->own_key);
	cfg->have_own = false;
	cfg->server_name = NULL;
	int rv = mbedtls_ssl_config_defaults(&cfg->conf,
					     server ? MBEDTLS_SSL_IS_SERVER : MBEDTLS_SSL_IS_CLIENT,
					     MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
	if (rv != 0) {
		config_fini(cfg);
		return nng_error(rv);
	}
	/* nng's defaults: servers do not ask for certificates, clients verify. */
	mbedtls_ssl_conf_authmode(&cfg->conf,
				  server ? MBEDTLS_SSL_VERIFY_NONE : MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_min_version(&cfg->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
				     MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_max_version(&cfg->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
				     MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_ciphersuites(&cfg->conf, suites);
	mbedtls_ssl_conf_curves(&cfg->conf, curves);
	mbedtls_ssl_conf_rng(&cfg->conf, random_bytes, NULL);
	return 0;
}

static int config_server_name(nng_tls_engine_config *cfg, const char *name)
{
	char *dup = strdup(name);
	if (dup == NULL)
		return NNG_ENOMEM;
	free(cfg->server_name);
	cfg->server_name = dup;
	return 0;
}

static int config_auth_mode(nng_tls_engine_config *cfg, nng_tls_auth_mode mode)
{
	switch (mode) {
	case NNG_TLS_AUTH_MODE_NONE:
		mbedtls_ssl_conf_authmode(&cfg->conf, MBEDTLS_SSL_VERIFY_NONE);
		return 0;
	case NNG_TLS_AUTH_MODE_OPTIONAL:
		mbedtls_ssl_conf_authmode(&cfg->conf, MBEDTLS_SSL_VERIFY_OPTIONAL);
		return 0;
	case NNG_TLS_AUTH_MODE_REQUIRED:
		mbedtls_ssl_conf_authmode(&cfg->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
		return 0;
	}
	return NNG_EINVAL;
}

static int config_ca_chain(nng_tls_engine_config *cfg, const char *certs, const char *crl)
{
	/* PEM parsing wants the terminating NUL counted. */
	int rv = mbedtls_x509_crt_parse(&cfg->ca, (const unsigned char *)certs, strlen(certs) + 1);
	if (rv != 0)
		return nng_error(rv);
	if (crl != NULL) {
		rv = mbedtls_x509_crl_parse(&cfg->crl, (const unsigned char *)crl, strlen(crl) + 1);
		if (rv != 0)
			return nng_error(rv);
	}
	mbedtls_ssl_conf_ca_chain(&cfg->conf, &cfg->ca, crl != NULL ? &cfg->crl : NULL);
	return 0;
}

/* One identity per config: a node has one certificate. */
static int config_own_cert(nng_tls_engine_config *cfg, const char *cert, const char *key,
			   const char *pass)
{
	if (cfg->have_own)
		return NNG_EBUSY;
	int rv = mbedtls_x509_crt_parse(&cfg->own_crt, (const unsigned char *)cert, strlen(cert) + 1);
	if (rv == 0)
		rv = mbedtls_pk_parse_key(&cfg->own_key, (const unsigned char *)key, strlen(key) + 1,
					  (const unsigned char *)pass, pass != NULL ? strlen(pass) : 0);
	if (rv == 0)
		rv = mbedtls_ssl_conf_own_cert(&cfg->conf, &cfg->own_crt, &cfg->own_key);
	if (rv != 0) {
		mbedtls_x509_crt_free(&cfg->own_crt);
		mbedtls_pk_free(&cfg->own_key);
		mbedtls_x509_crt_init(&cfg->own_crt);
		mbedtls_pk_init(&cfg->own_key);
		return nng_error(rv);
	}
	cfg->have_own = true;
	return 0;
}

/* mbed TLS 2.28 speaks TLS 1.2 only (1.3 is experimental and off in
 * Debian's build); any range that includes 1.2 gets exactly 1.2. */
static int config_version(nng_tls_engine_config *cfg, nng_tls_version min_ver,
			  nng_tls_version max_ver)
{
	(void)cfg;
	if (min_ver > max_ver || min_ver > NNG_TLS_1_2 || max_ver < NNG_TLS_1_2)
		return NNG_ENOTSUP;
	return 0;
}

static nng_tls_engine_config_ops config_ops = {
	.size = sizeof(nng_tls_engine_config),
	.init = config_init,
	.fini = config_fini,
	.server = config_server_name,
	.auth = config_auth_mode,
	.ca_chain = config_ca_chain,
	.own_cert = config_own_cert,
	.version = config_version,
};

static nng_tls_engine_conn_ops conn_ops = {
	.size = sizeof(nng_tls_engine_conn),
	.init = conn_init,
	.fini = conn_fini,
	.close = conn_close,
	.handshake = conn_handshake,
	.recv = conn_recv,
	.send = conn_send,
	.verified = conn_verified,
};

static const nng_tls_engine engine = {
	.version = NNG_TLS_ENGINE_VERSION,
	.config_ops = &config_ops,
	.conn_ops = &conn_ops,
	.name = ENGINE_NAME,
	.description = MBEDTLS_VERSION_STRING_FULL " (mimamori: peer names, X25519/P-256)",
	.fips_mode = false,
};

int rpc_tls_engine_install(void)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&lock);
	/* nng_tls_engine_name() initialises nng first: nng's init registers its
	 * own engine and would otherwise replace ours later. */
	int rv = 0;
	if (strcmp(nng_tls_engine_name(), ENGINE_NAME) != 0)
		rv = nng_tls_engine_register(&engine);
	pthread_mutex_unlock(&lock);
	return rv;
}

int rpc_tls_config(nng_tls_config **out, nng_tls_mode mode, const struct rpc_tls_files *files,
		   char *err, size_t errlen)
{
	assert(out != NULL && files != NULL);
	*out = NULL;
	if (files->ca_file == NULL || files->cert_key_file == NULL) {
		snprintf(err, errlen, "tls: a CA file and a certificate+key file are required");
		return NNG_EINVAL;
	}
	if (mode == NNG_TLS_MODE_CLIENT &&
	    (files->server_name == NULL || files->server_name[0] == '\0')) {
		snprintf(err, errlen, "tls: a client needs the server's expected name");
		return NNG_EINVAL;
	}
	int rv = rpc_tls_engine_install();
	if (rv != 0) {
		snprintf(err, errlen, "tls: cannot register the TLS engine: %s", nng_strerror(rv));
		return rv;
	}
	nng_tls_config *cfg;
	if ((rv = nng_tls_config_alloc(&cfg, mode)) != 0) {
		snprintf(err, errlen, "tls: %s", nng_strerror(rv));
		return rv;
	}
	const char *what = files->ca_file;
	if ((rv = nng_tls_config_ca_file(cfg, files->ca_file)) == 0 &&
	    (rv = nng_tls_config_cert_key_file(cfg, what = files->cert_key_file, NULL)) == 0 &&
	    (rv = nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_REQUIRED)) == 0 &&
	    (mode == NNG_TLS_MODE_SERVER ||
	     (rv = nng_tls_config_server_name(cfg, files->server_name)) == 0)) {
		*out = cfg;
		return 0;
	}
	snprintf(err, errlen, "tls: %s: %s", what, nng_strerror(rv));
	nng_tls_config_free(cfg);
	return rv;
}

int rpc_tls_peer_name(nng_pipe pipe, char name[RPC_PEER_NAME_MAX + 1])
{
	name[0] = '\0';
	peer_probe.set = false;
	peer_probe.verified = false;
	peer_probe.name[0] = '\0';
	bool verified = false;
	int rv = nng_pipe_get_bool(pipe, NNG_OPT_TLS_VERIFIED, &verified);
	if (rv != 0)
		return rv;
	if (!peer_probe.set)
		return NNG_ENOTSUP; /* a connection of nng's own engine */
	assert(peer_probe.verified == verified);
	if (!verified || peer_probe.name[0] == '\0')
		return NNG_EPEERAUTH;
	memcpy(name, peer_probe.name, sizeof(peer_probe.name));
	return 0;
}
