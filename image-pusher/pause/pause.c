/*
 * kubeadm-nspawn's pause: the process that holds a pod sandbox's namespaces. It does nothing but
 * wait; as PID 1 of a pod that shares its PID namespace it reaps the children that get orphaned
 * there; it exits 0 on SIGINT or SIGTERM (how containerd stops a sandbox). Linked statically so
 * it runs in an image that holds only this file.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define VERSION "kubeadm-nspawn-pause 1"

static void stop(int sig)
{
	(void)sig;
	_exit(0);
}

static void reap(int sig)
{
	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

int main(int argc, char **argv)
{
	struct sigaction on_stop, on_child;

	if (argc > 1 && strcmp(argv[1], "-v") == 0) {
		puts(VERSION);
		return 0;
	}
	if (getpid() != 1)
		fprintf(stderr, "pause: not PID 1; orphans of this namespace go elsewhere\n");

	memset(&on_stop, 0, sizeof(on_stop));
	on_stop.sa_handler = stop;
	memset(&on_child, 0, sizeof(on_child));
	on_child.sa_handler = reap;
	on_child.sa_flags = SA_NOCLDSTOP | SA_RESTART;
	if (sigaction(SIGINT, &on_stop, NULL) < 0 || sigaction(SIGTERM, &on_stop, NULL) < 0 ||
	    sigaction(SIGCHLD, &on_child, NULL) < 0) {
		perror("pause: sigaction");
		return 1;
	}
	for (;;)
		pause();
}
