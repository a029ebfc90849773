/* SPDX-License-Identifier: GPL-2.0-only */
/* prepopctl's commands; each returns the process exit status. */
#ifndef PREPOP_CTL_H
#define PREPOP_CTL_H

#include "prepop/errors.h"
#include "prepop/facts.h"
#include "prepop/policy.h"

#define CTL_OK 0
#define CTL_BAD_INPUT 2

int ctl_decide(int argc, char **argv);
int ctl_policy(int argc, char **argv);
int ctl_rollout(int argc, char **argv);
int ctl_status(int argc, char **argv);

/* Shared by the commands: load or print errors and return NULL / -1. */
struct pp_policy *ctl_load_policy(const char *dir);
int ctl_load_host(const char *host_file, struct pp_host *h);
void ctl_print_json(struct json_object *o);

#endif
