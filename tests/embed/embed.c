/* SPDX-License-Identifier: MIT */
/*
 * embed.c — a C program embedding libpython, as applications do (a game
 * engine's scripting, a database's Python procedures): the interpreter is a
 * shared library the program links, not an executable giltrace could
 * recognise by name.
 *
 * It starts Python, runs Python threads from Python code, and calls into
 * Python from a native thread of its own through PyGILState_Ensure (the
 * embedding API's way to take the GIL from a thread Python did not start),
 * then finalises. Prints one line, the same traced or not:
 *   "embed: N" — the sum the Python threads computed.
 * Usage: embed [COUNT]  (each thread counts down from COUNT, default 2000000)
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static const char SCRIPT[] = "import threading\n"
			     "def spin(n):\n"
			     "    while n > 0:\n"
			     "        n -= 1\n"
			     "    return n\n"
			     "total = 0\n"
			     "def work(n):\n"
			     "    global total\n"
			     "    spin(n)\n"
			     "    total += 1\n"
			     "ts = [threading.Thread(target=work, args=(COUNT,), name='py-%d' % i)\n"
			     "      for i in range(2)]\n"
			     "for t in ts: t.start()\n";

static long count = 2000000;

/* A thread Python knows nothing of, running Python code while the Python
 * threads run: it competes for the same GIL. */
static void *native_thread(void *arg)
{
	(void)arg;
	PyGILState_STATE st = PyGILState_Ensure();
	char code[128];
	snprintf(code, sizeof(code), "spin(%ld)\ntotal += 1\n", count);
	if (PyRun_SimpleString(code))
		fprintf(stderr, "embed: the native thread's code failed\n");
	PyGILState_Release(st);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		count = strtol(argv[1], NULL, 10);
	Py_Initialize();
	PyObject *main_mod = PyImport_AddModule("__main__"); /* borrowed */
	PyObject *globals = main_mod ? PyModule_GetDict(main_mod) : NULL;
	PyObject *n = PyLong_FromLong(count);
	if (!globals || !n || PyDict_SetItemString(globals, "COUNT", n) ||
	    PyRun_SimpleString(SCRIPT)) {
		fprintf(stderr, "embed: starting the Python threads failed\n");
		return 1;
	}
	Py_DECREF(n);

	/* Let the native thread take the GIL. */
	PyThreadState *saved = PyEval_SaveThread();
	pthread_t t;
	if (pthread_create(&t, NULL, native_thread, NULL)) {
		fprintf(stderr, "embed: pthread_create failed\n");
		return 1;
	}
	pthread_join(t, NULL);
	PyEval_RestoreThread(saved);

	if (PyRun_SimpleString("for t in ts: t.join()\nprint('embed: %d' % total, flush=True)\n"))
		return 1;
	return Py_FinalizeEx() < 0 ? 120 : 0;
}
