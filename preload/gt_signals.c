/* SPDX-License-Identifier: MIT */
/*
 * gt_signals.c — the stand-in handler and the sigaction() view that hides it.
 *
 * Why a stand-in: SIGTERM's default action kills the process without running
 * destructors, and CPython ends an unhandled KeyboardInterrupt by resetting
 * SIGINT to SIG_DFL and killing itself with it (exit_sigint) — both would
 * leave open slices and a trace cut mid-chunk.
 *
 * Only where the process writes its own trace (plain LD_PRELOAD). Under
 * `giltrace run` the rings are giltrace's to finish, and a process that dies
 * of a signal must die at once, as it would untraced: after exit_sigint's
 * Py_FinalizeEx, a daemon thread that runs on (while the stand-in did its
 * work) takes the GIL of a freed interpreter — CPython 3.10 crashed so in
 * about one Ctrl-C in five on a busy machine.
 */
#define _GNU_SOURCE
#include "gt_signals.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

#include "gt_real.h"
#include "gt_tracer.h"

#define GT_EXPORT __attribute__((visibility("default")))

static const int watched[] = {SIGINT, SIGTERM, SIGHUP};
#define NWATCHED (int)(sizeof(watched) / sizeof(watched[0]))
/* 1 while our handler stands in for SIG_DFL on watched[i]. */
static _Atomic int standing_in[NWATCHED];
/* Stand-ins are wanted at all (gt_signals_install()). */
static _Atomic int wanted;

static int watched_index(int sig)
{
	for (int i = 0; i < NWATCHED; i++)
		if (watched[i] == sig)
			return i;
	return -1;
}

static void on_signal(int sig)
{
	int saved = errno;
	int i = watched_index(sig);
	gt_finish();
	/* Now behave as the default action would have: die of sig. */
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	gt_real.sigaction(sig, &dfl, NULL);
	if (i >= 0)
		atomic_store(&standing_in[i], 0);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	errno = saved; /* only reached if the signal was ignored meanwhile */
}

static void stand_in(int i)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigfillset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	if (!gt_real.sigaction(watched[i], &sa, NULL))
		atomic_store(&standing_in[i], 1);
}

void gt_signals_install(int want)
{
	atomic_store(&wanted, want);
	for (int i = 0; want && i < NWATCHED; i++) {
		struct sigaction cur;
		if (gt_real.sigaction(watched[i], NULL, &cur))
			continue;
		if (!(cur.sa_flags & SA_SIGINFO) && cur.sa_handler == SIG_DFL)
			stand_in(i);
	}
}

GT_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	int i = watched_index(sig);
	if (i < 0 || atomic_load(&gt_state) == GT_OFF)
		return gt_real.sigaction(sig, act, old);
	struct sigaction prev;
	if (atomic_load(&standing_in[i])) {
		memset(&prev, 0, sizeof(prev));
		prev.sa_handler = SIG_DFL;
	} else if (gt_real.sigaction(sig, NULL, &prev)) {
		return -1;
	}
	if (act) {
		int to_default = !(act->sa_flags & SA_SIGINFO) && act->sa_handler == SIG_DFL;
		if (to_default && gt_tracing() && atomic_load(&wanted)) {
			stand_in(i);
		} else {
			if (gt_real.sigaction(sig, act, NULL))
				return -1;
			atomic_store(&standing_in[i], 0);
		}
	}
	if (old)
		*old = prev;
	return 0;
}

/* glibc's signal() and its relatives set the handler through the internal
 * __sigaction, not through ours: without these a handler installed with
 * signal() would leave us believing we still stand in for the default, and
 * sigaction() queries would then report SIG_DFL wrongly. */
static sighandler_t via_signal(int sig, sighandler_t handler,
			       sighandler_t (*real)(int, sighandler_t))
{
	int i = watched_index(sig);
	if (i < 0 || atomic_load(&gt_state) == GT_OFF)
		return real(sig, handler);
	int was = atomic_load(&standing_in[i]);
	if (handler == SIG_DFL && gt_tracing() && atomic_load(&wanted)) {
		sighandler_t old = SIG_DFL;
		if (!was) {
			struct sigaction prev;
			if (gt_real.sigaction(sig, NULL, &prev))
				return SIG_ERR;
			old = prev.sa_handler;
		}
		stand_in(i);
		return old;
	}
	sighandler_t old = real(sig, handler);
	if (old == SIG_ERR)
		return old;
	atomic_store(&standing_in[i], 0);
	return was ? SIG_DFL : old;
}

GT_EXPORT sighandler_t signal(int sig, sighandler_t handler)
{
	return via_signal(sig, handler, gt_real.signal);
}

GT_EXPORT sighandler_t bsd_signal(int sig, sighandler_t handler)
{
	return via_signal(sig, handler, gt_real.signal); /* the same in glibc */
}

GT_EXPORT sighandler_t sysv_signal(int sig, sighandler_t handler)
{
	return via_signal(sig, handler, gt_real.sysv_signal);
}
