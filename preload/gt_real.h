/* SPDX-License-Identifier: MIT */
/*
 * gt_real.h — the real libc functions behind every hook.
 *
 * Each pointer starts out at a bootstrap function, so a hook that runs before
 * gt_real_resolve() (another library's constructor, or malloc → mutex inside
 * dlsym) still reaches glibc: the mutex calls go straight to glibc's exported
 * __pthread_mutex_* aliases, everything else resolves first.
 */
#ifndef GT_REAL_H
#define GT_REAL_H

#include <pthread.h>
#include <signal.h>
#include <time.h>

struct gt_real {
	int (*mutex_lock)(pthread_mutex_t *);
	int (*mutex_unlock)(pthread_mutex_t *);
	int (*mutex_init)(pthread_mutex_t *, const pthread_mutexattr_t *);
	int (*mutex_destroy)(pthread_mutex_t *);
	int (*cond_init)(pthread_cond_t *, const pthread_condattr_t *);
	int (*cond_destroy)(pthread_cond_t *);
	int (*cond_timedwait)(pthread_cond_t *, pthread_mutex_t *, const struct timespec *);
	int (*cond_signal)(pthread_cond_t *);
	int (*sigaction)(int, const struct sigaction *, struct sigaction *);
	sighandler_t (*signal)(int, sighandler_t);
	sighandler_t (*sysv_signal)(int, sighandler_t);
	void (*exit_)(int);
	void (*Exit)(int);
	int (*execve)(const char *, char *const[], char *const[]);
	int (*execv)(const char *, char *const[]);
	int (*execvp)(const char *, char *const[]);
	int (*execvpe)(const char *, char *const[], char *const[]);
	int (*fexecve)(int, char *const[], char *const[]);
};

extern struct gt_real gt_real;

/* Resolves every pointer once; safe to call from any hook, any thread. */
void gt_real_resolve(void);

#endif
