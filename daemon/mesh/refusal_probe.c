/* See refusal_probe.h. */
#include "daemon/mesh/refusal_probe.h"

#include <assert.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "os/log.h"

struct target {
	struct sockaddr_storage addr;
	socklen_t len; /* 0: no address */
	int slot;      /* index in flight[], -1 when idle */
};

struct flight {
	uint32_t member;
	int fd;
	uint64_t deadline;
	/* connect() finished at once (loopback): its outcome, reported by
	 * the next poll (the socket's SO_ERROR is already consumed) */
	bool done;
	enum refusal_outcome outcome;
	int err;
};

struct refusal_probe {
	struct target *t;
	size_t n;
	uint64_t timeout_ns;
	int epfd;
	struct flight flight[REFUSAL_PROBE_MAX_INFLIGHT];
	size_t n_flight;
};

/* HOST and PORT of "scheme://HOST:PORT" or "scheme://[V6]:PORT" into
 * host/port; -1 when url has no such shape. */
static int split_url(const char *url, char *host, size_t hlen, char *port, size_t plen)
{
	const char *p = strstr(url, "://");
	const char *h, *hend, *colon;

	if (!p)
		return -1;
	h = p + 3;
	if (*h == '[') {
		h++;
		hend = strchr(h, ']');
		if (!hend || hend[1] != ':')
			return -1;
		colon = hend + 1;
	} else {
		colon = strrchr(h, ':');
		hend = colon;
	}
	if (!colon || hend == h || (size_t)(hend - h) >= hlen || !colon[1] ||
	    strlen(colon + 1) >= plen)
		return -1;
	memcpy(host, h, (size_t)(hend - h));
	host[hend - h] = '\0';
	snprintf(port, plen, "%s", colon + 1);
	return 0;
}

/* The first address of url's host and port into t; -1 (logged) if none. */
static int resolve(const char *name, const char *url, struct target *t)
{
	char host[MEMBERS_URL_MAX], port[16];
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	int rc;

	if (split_url(url, host, sizeof(host), port, sizeof(port)) < 0) {
		log_warn("mesh: %s's URL %s has no HOST:PORT: no refusal probes for it", name,
			 url);
		return -1;
	}
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc == EAI_NONAME) {
		hints.ai_flags = AI_NUMERICSERV; /* a name: resolved once, here */
		rc = getaddrinfo(host, port, &hints, &res);
	}
	if (rc != 0 || !res || res->ai_addrlen > sizeof(t->addr)) {
		log_warn("mesh: %s (%s): cannot resolve %s: %s: no refusal probes for it (a "
			 "crashed daemon there is taken for a dead host)",
			 name, url, host, rc != 0 ? gai_strerror(rc) : "no address");
		if (res)
			freeaddrinfo(res);
		return -1;
	}
	memcpy(&t->addr, res->ai_addr, res->ai_addrlen);
	t->len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

struct refusal_probe *refusal_probe_new(const struct members_list *l, uint32_t self,
					uint64_t timeout_ns)
{
	struct refusal_probe *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->n = l->n;
	p->timeout_ns = timeout_ns;
	p->t = calloc(l->n ? l->n : 1, sizeof(*p->t));
	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!p->t || p->epfd < 0) {
		int e = p->t ? errno : ENOMEM;

		refusal_probe_free(p);
		errno = e;
		return NULL;
	}
	for (size_t i = 0; i < l->n; i++) {
		p->t[i].slot = -1;
		if (i != self)
			(void)resolve(l->v[i].name, l->v[i].url, &p->t[i]);
	}
	return p;
}

static void finish(struct refusal_probe *p, size_t slot)
{
	struct flight *f = &p->flight[slot];

	assert(slot < p->n_flight && p->t[f->member].slot == (int)slot);
	if (!f->done)
		(void)epoll_ctl(p->epfd, EPOLL_CTL_DEL, f->fd, NULL);
	close(f->fd);
	p->t[f->member].slot = -1;
	p->n_flight--;
	if (slot != p->n_flight) {
		p->flight[slot] = p->flight[p->n_flight];
		p->t[p->flight[slot].member].slot = (int)slot;
	}
}

void refusal_probe_free(struct refusal_probe *p)
{
	if (!p)
		return;
	while (p->n_flight > 0)
		finish(p, p->n_flight - 1);
	if (p->epfd >= 0)
		close(p->epfd);
	free(p->t);
	free(p);
}

int refusal_probe_fd(const struct refusal_probe *p)
{
	return p->epfd;
}

bool refusal_probe_has_address(const struct refusal_probe *p, uint32_t member)
{
	return member < p->n && p->t[member].len > 0;
}

bool refusal_probe_running(const struct refusal_probe *p, uint32_t member)
{
	return member < p->n && p->t[member].slot >= 0;
}

static enum refusal_outcome outcome_of(int err)
{
	if (err == 0)
		return REFUSAL_ACCEPTED;
	/* Only the host's own answer. EHOSTUNREACH/ENETUNREACH (a failed ARP,
	 * a router's ICMP), EPERM (a local firewall), ETIMEDOUT: no answer. */
	return err == ECONNREFUSED ? REFUSAL_REFUSED : REFUSAL_NO_ANSWER;
}

int refusal_probe_start(struct refusal_probe *p, uint32_t member, uint64_t now)
{
	struct target *t;
	struct flight *f;
	int fd, rc;

	if (!refusal_probe_has_address(p, member))
		return -ENOENT;
	t = &p->t[member];
	if (t->slot >= 0)
		return -EALREADY;
	if (p->n_flight >= REFUSAL_PROBE_MAX_INFLIGHT)
		return -EBUSY;
	fd = socket(t->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	f = &p->flight[p->n_flight];
	*f = (struct flight){ .member = member, .fd = fd, .deadline = now + p->timeout_ns };
	rc = connect(fd, (const struct sockaddr *)&t->addr, t->len);
	if (rc == 0 || errno != EINPROGRESS) {
		f->done = true;
		f->err = rc == 0 ? 0 : errno;
		f->outcome = outcome_of(f->err);
	} else {
		struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = member };

		if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			int e = errno;

			close(fd);
			return -e;
		}
	}
	t->slot = (int)p->n_flight++;
	return 0;
}

size_t refusal_probe_poll(struct refusal_probe *p, uint64_t now, struct refusal_result *out,
			  size_t max)
{
	struct epoll_event evs[16];
	size_t k = 0;
	int got;

	/* Finished connects: their outcome into the slot. */
	while ((got = epoll_wait(p->epfd, evs, 16, 0)) > 0) {
		for (int i = 0; i < got; i++) {
			uint32_t m = evs[i].data.u32;
			struct flight *f;
			int err = 0;
			socklen_t len = sizeof(err);

			if (m >= p->n || p->t[m].slot < 0)
				continue;
			f = &p->flight[p->t[m].slot];
			if (getsockopt(f->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
				err = errno;
			(void)epoll_ctl(p->epfd, EPOLL_CTL_DEL, f->fd, NULL);
			f->done = true;
			f->err = err;
			f->outcome = outcome_of(err);
		}
		if (got < 16)
			break;
	}
	for (size_t s = 0; s < p->n_flight && k < max;) {
		struct flight *f = &p->flight[s];

		if (!f->done && now < f->deadline) {
			s++;
			continue;
		}
		out[k++] = (struct refusal_result){
			.member = f->member,
			.outcome = f->done ? f->outcome : REFUSAL_NO_ANSWER,
			.err = f->done ? (f->outcome == REFUSAL_NO_ANSWER ? f->err : 0) : ETIMEDOUT,
		};
		finish(p, s); /* moves the last one into s */
	}
	return k;
}

uint64_t refusal_probe_next_deadline(const struct refusal_probe *p)
{
	uint64_t d = UINT64_MAX;

	for (size_t s = 0; s < p->n_flight; s++) {
		if (p->flight[s].done)
			return 0; /* an outcome waits to be reported */
		if (p->flight[s].deadline < d)
			d = p->flight[s].deadline;
	}
	return d;
}

const char *refusal_outcome_name(enum refusal_outcome o)
{
	switch (o) {
	case REFUSAL_REFUSED: return "refused";
	case REFUSAL_ACCEPTED: return "accepted";
	case REFUSAL_NO_ANSWER: return "no answer";
	}
	return "?";
}
