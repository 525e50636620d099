/* See transport.h. */
#include "rpc/transport.h"

#include <assert.h>
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nng/transport/ipc/ipc.h>

#define IPC_PREFIX "ipc://"
#define TCP_PREFIX "tcp://"
#define TLS_PREFIX "tls+tcp://"

enum rpc_transport rpc_transport_of(const char *url)
{
	if (url == NULL)
		return 0;
	if (strncmp(url, IPC_PREFIX, strlen(IPC_PREFIX)) == 0 && url[strlen(IPC_PREFIX)] != '\0')
		return RPC_TRANSPORT_IPC;
	if (strncmp(url, TCP_PREFIX, strlen(TCP_PREFIX)) == 0)
		return RPC_TRANSPORT_TCP;
	if (strncmp(url, TLS_PREFIX, strlen(TLS_PREFIX)) == 0)
		return RPC_TRANSPORT_TLS;
	return 0;
}

const char *rpc_transport_name(enum rpc_transport t)
{
	switch (t) {
	case RPC_TRANSPORT_IPC:
		return "ipc";
	case RPC_TRANSPORT_TCP:
		return "tcp";
	case RPC_TRANSPORT_TLS:
		return "tls+tcp";
	}
	return "unknown";
}

/* getgrnam_r with a buffer grown on ERANGE (group files with long member
 * lists exceed the usual 1 KiB hint). */
static int group_id(const char *name, gid_t *gid, char *err, size_t errlen)
{
	size_t size = 4096;
	for (;;) {
		char *buf = malloc(size);
		if (buf == NULL) {
			snprintf(err, errlen, "group %s: out of memory", name);
			return NNG_ENOMEM;
		}
		struct group gr, *res = NULL;
		int rv = getgrnam_r(name, &gr, buf, size, &res);
		if (rv == 0 && res != NULL)
			*gid = gr.gr_gid;
		free(buf);
		if (rv == ERANGE && size < 1024 * 1024) {
			size *= 4;
			continue;
		}
		if (rv != 0) {
			snprintf(err, errlen, "group %s: %s", name, strerror(rv));
			return NNG_EINVAL;
		}
		if (res == NULL) {
			snprintf(err, errlen, "group %s: no such group", name);
			return NNG_EINVAL;
		}
		return 0;
	}
}

static int fail(int rv, const char *what, const char *url, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s %s: %s", what, url, nng_strerror(rv));
	return rv;
}

int rpc_listen(nng_socket sock, const char *url, const struct rpc_listen_opts *opts,
	       nng_listener *out, char *err, size_t errlen)
{
	assert(opts != NULL && out != NULL);
	assert(opts->max_msg >= RPC_MIN_MAX_MSG && opts->max_msg <= RPC_MAX_MAX_MSG);
	enum rpc_transport t = rpc_transport_of(url);
	if (t == 0) {
		snprintf(err, errlen, "%s: only ipc://, tcp:// and tls+tcp:// are offered",
			 url != NULL ? url : "(null)");
		return NNG_ENOTSUP;
	}
	/* Resolve the group before anything listens, so a typo fails closed. */
	gid_t gid = (gid_t)-1;
	int rv;
	if (t == RPC_TRANSPORT_IPC && opts->ipc_group != NULL &&
	    (rv = group_id(opts->ipc_group, &gid, err, errlen)) != 0)
		return rv;

	nng_listener l;
	if ((rv = nng_listener_create(&l, sock, url)) != 0)
		return fail(rv, "listen", url, err, errlen);
	if ((rv = nng_listener_set_size(l, NNG_OPT_RECVMAXSZ, opts->max_msg)) != 0) {
		nng_listener_close(l);
		return fail(rv, "set recv-size-max on", url, err, errlen);
	}
	if (t == RPC_TRANSPORT_IPC) {
		/* nng applies the mode between bind() and listen(): no moment
		 * where the socket accepts with the umask's mode. */
		rv = nng_listener_set_int(l, NNG_OPT_IPC_PERMISSIONS, (int)opts->ipc_mode);
		if (rv != 0) {
			nng_listener_close(l);
			return fail(rv, "set permissions on", url, err, errlen);
		}
	}
	if (t == RPC_TRANSPORT_TLS) {
		nng_tls_config *cfg;
		if (opts->tls == NULL) {
			nng_listener_close(l);
			snprintf(err, errlen, "listen %s: tls+tcp needs TLS files", url);
			return NNG_EINVAL;
		}
		if ((rv = rpc_tls_config(&cfg, NNG_TLS_MODE_SERVER, opts->tls, err, errlen)) != 0) {
			nng_listener_close(l);
			return rv;
		}
		rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, cfg);
		nng_tls_config_free(cfg); /* the listener holds its own reference */
		if (rv != 0) {
			nng_listener_close(l);
			return fail(rv, "set TLS config on", url, err, errlen);
		}
	}
	if ((rv = nng_listener_start(l, 0)) != 0) {
		nng_listener_close(l);
		return fail(rv, "listen", url, err, errlen);
	}
	if (gid != (gid_t)-1) {
		/* Until this chown only root can connect (group root, 0660):
		 * the window fails closed. */
		const char *path = url + strlen(IPC_PREFIX);
		if (chown(path, (uid_t)-1, gid) != 0) {
			snprintf(err, errlen, "chown %s to group %s: %s", path, opts->ipc_group,
				 strerror(errno));
			nng_listener_close(l);
			return NNG_ESYSERR + errno;
		}
	}
	*out = l;
	return 0;
}

int rpc_dial(nng_socket sock, const char *url, const struct rpc_dial_opts *opts, bool wait,
	     nng_dialer *out, char *err, size_t errlen)
{
	assert(opts != NULL && out != NULL);
	assert(opts->max_msg >= RPC_MIN_MAX_MSG && opts->max_msg <= RPC_MAX_MAX_MSG);
	assert(opts->reconnect_min_ms > 0 && opts->reconnect_min_ms <= opts->reconnect_max_ms);
	enum rpc_transport t = rpc_transport_of(url);
	if (t == 0) {
		snprintf(err, errlen, "%s: only ipc://, tcp:// and tls+tcp:// are offered",
			 url != NULL ? url : "(null)");
		return NNG_ENOTSUP;
	}
	nng_dialer d;
	int rv;
	if ((rv = nng_dialer_create(&d, sock, url)) != 0)
		return fail(rv, "dial", url, err, errlen);
	if ((rv = nng_dialer_set_size(d, NNG_OPT_RECVMAXSZ, opts->max_msg)) != 0 ||
	    (rv = nng_dialer_set_ms(d, NNG_OPT_RECONNMINT, (nng_duration)opts->reconnect_min_ms)) != 0 ||
	    (rv = nng_dialer_set_ms(d, NNG_OPT_RECONNMAXT, (nng_duration)opts->reconnect_max_ms)) != 0) {
		nng_dialer_close(d);
		return fail(rv, "set options on", url, err, errlen);
	}
	if (t == RPC_TRANSPORT_TLS) {
		nng_tls_config *cfg;
		if (opts->tls == NULL) {
			nng_dialer_close(d);
			snprintf(err, errlen, "dial %s: tls+tcp needs TLS files", url);
			return NNG_EINVAL;
		}
		if ((rv = rpc_tls_config(&cfg, NNG_TLS_MODE_CLIENT, opts->tls, err, errlen)) != 0) {
			nng_dialer_close(d);
			return rv;
		}
		rv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg);
		nng_tls_config_free(cfg);
		if (rv != 0) {
			nng_dialer_close(d);
			return fail(rv, "set TLS config on", url, err, errlen);
		}
	}
	if ((rv = nng_dialer_start(d, wait ? 0 : NNG_FLAG_NONBLOCK)) != 0) {
		nng_dialer_close(d);
		return fail(rv, "connect", url, err, errlen);
	}
	*out = d;
	return 0;
}
