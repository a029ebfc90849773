/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Watching someone else's libvirt job on a domain until it ends (a job
 * query, off the loop, once a second); then the domain table is told
 * (DE_JOB_ENDED_HERE).
 */
#ifndef PREPOP_JOBWATCH_H
#define PREPOP_JOBWATCH_H

struct agent;
struct adom;

void jobwatch_start(struct agent *a, struct adom *d);
void jobwatch_stop(struct adom *d);
void jobwatch_free(struct adom *d);

#endif
