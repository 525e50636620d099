/* mimamori-sim: the scenarios. Each starts at t0 (end of the warm-up) and
 * schedules its faults as EV_SCENARIO events; nodes are picked with the
 * scenario's own random stream, so a seed replays them. The first fault
 * comes 2 s after t0 plus a random phase within one probe interval (the
 * steady part of the window). */
#ifndef MIMAMORI_SIM_SCENARIO_H
#define MIMAMORI_SIM_SCENARIO_H

#include <stdint.h>
#include <stdio.h>

struct sim;

struct scenario {
	const char *name;
	const char *help;
	double default_loss; /* used unless --loss is given */
	void (*start)(struct sim *s);
};

/* Knobs (defaults in scenario_knobs_default; 0 = the scenario's default). */
struct scenario_knobs {
	uint32_t crashes;  /* crash-multi */
	uint32_t minority; /* partition */
	uint64_t stall_min_ns, stall_max_ns, stall_gap_min_ns, stall_gap_max_ns;
	uint64_t flap_down_min_ns, flap_down_max_ns, flap_up_min_ns, flap_up_max_ns;
};

void scenario_knobs_default(struct scenario_knobs *k);
const struct scenario *scenario_find(const char *name);
void scenario_list(FILE *out);
/* An EV_SCENARIO event is due. */
void scenario_step(struct sim *s, uint64_t code);

#endif
