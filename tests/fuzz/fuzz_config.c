/* libFuzzer target: mimamori.conf and masakarimonitors.conf parsing from
 * memory, then validation, with the loader's guarantees checked: either
 * an error message or a config whose strings are terminated within their
 * buffers and whose numbers are in range. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/common/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TERMINATED(buf) (memchr((buf), '\0', sizeof(buf)) != NULL)

static void check(const struct mimamori_config *cfg)
{
	const struct masakari_client_config *m = &cfg->masakari;

	if (!TERMINATED(cfg->hostname) || !TERMINATED(cfg->state_dir) ||
	    !TERMINATED(cfg->libvirt_uri) || !TERMINATED(cfg->probe_mode) ||
	    !TERMINATED(m->auth_url) || !TERMINATED(m->username) || !TERMINATED(m->password) ||
	    !TERMINATED(m->project_name) || !TERMINATED(m->user_domain_name) ||
	    !TERMINATED(m->project_domain_name) || !TERMINATED(m->region) ||
	    !TERMINATED(m->interface) || !TERMINATED(m->endpoint_override) ||
	    !TERMINATED(m->cafile) || !TERMINATED(m->api_version))
		abort();
	if (cfg->n_process_names > CORRELATE_MAX_PROCESS_NAMES)
		abort();
	for (size_t i = 0; i < cfg->n_process_names; i++)
		if (strnlen(cfg->process_names[i], sizeof(cfg->process_names[i])) > 15 ||
		    cfg->process_names[i][0] == '\0')
			abort();
	if (m->noauth != (m->auth_url[0] == '\0'))
		abort();
	if (m->timeout_ms <= 0 || cfg->delivery_max_age_s <= 0)
		abort();
}

static void one(int (*load)(struct mimamori_config *, const char *, const char *, size_t,
			    char *, size_t),
		const uint8_t *data, size_t size)
{
	struct mimamori_config cfg, before;
	char err[CONFIG_ERR_LEN];

	config_defaults(&cfg);
	before = cfg;
	memset(err, 0, sizeof(err));
	if (load(&cfg, "fuzz.conf", (const char *)data, size, err, sizeof(err)) == 0) {
		check(&cfg);
		(void)config_validate(&cfg, err, sizeof(err));
		if (!TERMINATED(err))
			abort();
		return;
	}
	/* A failure always says why, names the input, and changes nothing. */
	if (strncmp(err, "fuzz.conf:", 10) != 0 || !TERMINATED(err))
		abort();
	if (memcmp(&cfg, &before, sizeof(cfg)) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one(config_load_buffer, data, size);
	one(config_load_masakari_monitors_buffer, data, size);
	return 0;
}
