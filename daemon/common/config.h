/* mimamorid's configuration: an ini file ([node], [masakari], [instance],
 * [process], [probe], [delivery]) or, for migration, masakari-monitors'
 * masakarimonitors.conf ([api] section). Every error names the file, the
 * line and the key. */
#ifndef MIMAMORI_CONFIG_H
#define MIMAMORI_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "core/correlate.h"
#include "core/watchlist.h"

#define CONFIG_PATH_LEN 512
#define CONFIG_ERR_LEN 512

/* [masakari]: how the notifier reaches Masakari (daemon/notifier/masakari_client.h). */
struct masakari_client_config {
	bool noauth;             /* auth_url empty: no token, endpoint_override required */
	char auth_url[512];
	char username[128];
	char password[256];
	char project_name[128];
	char user_domain_name[128];
	char project_domain_name[128];
	char region[64];
	char interface[16];      /* public | internal | admin */
	char endpoint_override[512];
	char cafile[512];
	bool insecure;
	long timeout_ms;
	char api_version[16];    /* microversion, "1.0" */
};

struct mimamori_config {
	/* [node] */
	char hostname[256];      /* as Masakari knows the host; default gethostname() */
	char state_dir[CONFIG_PATH_LEN]; /* default /var/lib/mimamori */
	/* [masakari] */
	struct masakari_client_config masakari;
	/* [instance] */
	char libvirt_uri[CONFIG_PATH_LEN]; /* default qemu:///system */
	bool forward_all_events;
	/* [process] watched = comma-separated process names */
	size_t n_process_names;
	char process_names[CORRELATE_MAX_PROCESS_NAMES][WATCHLIST_NAME_MAX + 1];
	/* [probe] mode = auto | ebpf | pidfd */
	char probe_mode[8];
	/* [delivery] max_age (seconds) */
	long delivery_max_age_s;
	/* [control] the local RPC socket mimamorictl talks to */
	char control_socket[CONFIG_PATH_LEN]; /* default /run/mimamori/control.sock */
	char control_group[64];  /* group allowed to use it (mode 0660); "" = root only */
	/* [metrics] listen = host:port for GET /metrics; "" disables it */
	char metrics_listen[128]; /* default 127.0.0.1:9877 */
	/* [mesh] the peer mesh that detects dead hosts (off by default) */
	bool mesh_enabled;
	char mesh_listen[256];     /* tls+tcp://0.0.0.0:7947 */
	char mesh_advertise[256];  /* the URL peers dial; default: listen */
	char mesh_members_file[CONFIG_PATH_LEN]; /* "NAME URL" per line */
	char mesh_ca_file[CONFIG_PATH_LEN];
	char mesh_cert_file[CONFIG_PATH_LEN];    /* certificate + key, PEM */
	long mesh_unreachable_window_ms; /* agreement: unanswered this long = observed */
	bool mesh_refused_means_alive;   /* a suspected host refusing connections is up */
	bool mesh_allow_insecure_tcp;    /* tcp:// (no TLS) accepted: tests only */
	/* [fencing] how a failed host is fenced before Masakari is told */
	char fencing_method[16];   /* pacemaker | command | none */
	char fencing_command[CONFIG_PATH_LEN];   /* method = command: run with the host name */
	long fencing_timeout_s;
	/* [pacemaker] crm_mon as a second opinion */
	char crm_mon_path[CONFIG_PATH_LEN];
	long crm_mon_interval_s;   /* 0: do not run crm_mon */
};

void config_defaults(struct mimamori_config *cfg);
/* Parses an ini file into cfg (on top of defaults). Returns 0, or -1 with
 * "FILE:LINE: [section] key: what is wrong" in err. Unknown sections or
 * keys are errors (a typo must not silently disable something). Keys the
 * file does not set keep cfg's values, which must come from
 * config_defaults() or an earlier load (asserted: every value within its
 * key's bounds); on error cfg is left unchanged. */
int config_load(struct mimamori_config *cfg, const char *path, char *err, size_t errlen);
/* config_load() on len bytes in memory (NULs are rejected, not a
 * terminator); name stands for the file in messages. For tests and
 * fuzzing. */
int config_load_buffer(struct mimamori_config *cfg, const char *name, const char *data,
		       size_t len, char *err, size_t errlen);
/* Reads [api] of masakarimonitors.conf into cfg->masakari, and [DEFAULT]
 * hostname (or its deprecated name host) into cfg->hostname. Other
 * sections are ignored: that file is shared with other monitors. Values
 * are read as oslo.config does (one pair of surrounding quotes dropped). */
int config_load_masakari_monitors(struct mimamori_config *cfg, const char *path, char *err,
				  size_t errlen);
int config_load_masakari_monitors_buffer(struct mimamori_config *cfg, const char *name,
					 const char *data, size_t len, char *err, size_t errlen);
/* Cross-field checks after loading (e.g. noauth needs endpoint_override). */
int config_validate(const struct mimamori_config *cfg, char *err, size_t errlen);

#endif
