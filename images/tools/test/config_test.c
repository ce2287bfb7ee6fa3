// sources: config.c parse.c err.c util.c
/* Container definitions and user-supplied values: every parser fed good, bad, truncated and
 * mutated input. A corrupt config file must fail with a message, never crash or half-load. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "config.h"
#include "parse.h"

#include "check.h"

static void test_sizes(void)
{
	struct { const char *in; int64_t want; } good[] = {
		{ "32M", 32 << 20 }, { "1G", 1LL << 30 }, { "2048k", 2 << 20 }, { "1048576", 1 << 20 },
		{ "64MiB", 64 << 20 }, { "max", -1 }, { "none", -1 }, { "16mb", 16 << 20 },
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int64_t v = 0;
		struct ct_err e;
		check(parse_size(good[i].in, &v, &e) == 0 && v == good[i].want, "size %s", good[i].in);
	}
	const char *bad[] = { "", "M", "-1M", "12Q", "1.5M", "99999999999999999999", "2000G", "10k", "32 M", "0x10M", "1MM" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int64_t v = 7;
		struct ct_err e = { "", "" };
		check(parse_size(bad[i], &v, &e) < 0 && v == 7 && !strcmp(e.code, "invalid_argument") && e.msg[0],
		      "size %s refused", bad[i]);
	}
}

static void test_counts_cpus_names(void)
{
	int64_t v;
	struct ct_err e;
	check(parse_count("64", "pids", &v, &e) == 0 && v == 64, "count 64");
	check(parse_count("max", "pids", &v, &e) == 0 && v == -1, "count max");
	const char *badc[] = { "0", "-1", "1e3", "", "12a", "1000001", " 5" };
	for (size_t i = 0; i < sizeof(badc) / sizeof(badc[0]); i++)
		check(parse_count(badc[i], "pids", &v, &e) < 0, "count %s refused", badc[i]);
	check(parse_cpus("0.5", &v, &e) == 0 && v == 50000, "cpus 0.5");
	check(parse_cpus("2", &v, &e) == 0 && v == 200000, "cpus 2");
	check(parse_cpus(".25", &v, &e) == 0 && v == 25000, "cpus .25");
	const char *badcpu[] = { "0", "0.001", "65", "-1", "nan", "inf", "1,5", "" };
	for (size_t i = 0; i < sizeof(badcpu) / sizeof(badcpu[0]); i++)
		check(parse_cpus(badcpu[i], &v, &e) < 0, "cpus %s refused", badcpu[i]);
	const char *names[] = { "web", "a", "db-1", "x_2", "0abc", "abcdefghijklmnopqrstuvwxyz012345" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		check(parse_container_name(names[i], &e) == 0, "name %s", names[i]);
	const char *badn[] = { "", "Web", "-x", "_x", "a/b", "a b", "a.b", "..", "abcdefghijklmnopqrstuvwxyz0123456", "é" };
	for (size_t i = 0; i < sizeof(badn) / sizeof(badn[0]); i++)
		check(parse_container_name(badn[i], &e) < 0, "name \"%s\" refused", badn[i]);
}

static void test_ips_signals(void)
{
	struct in_addr a;
	int p;
	struct ct_err e;
	check(parse_ipv4_cidr("10.0.1.5/16", &a, &p, &e) == 0 && p == 16 && a.s_addr == inet_addr("10.0.1.5"), "ip ok");
	const char *bad[] = { "10.0.1.5", "10.0.1.5/", "10.0.1.5/7", "10.0.1.5/31", "10.0.0.0/16", "10.0.255.255/16",
			      "10.0.1.300/16", "10.0.1/16", "/16", "10.0.1.5/16x", "10.0.1.5/-1", "a.b.c.d/8" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check(parse_ipv4_cidr(bad[i], &a, &p, &e) < 0, "ip %s refused", bad[i]);
	int sig;
	check(parse_signal("TERM", &sig, &e) == 0 && sig == 15, "signal TERM");
	check(parse_signal("sigkill", &sig, &e) == 0 && sig == 9, "signal sigkill");
	check(parse_signal("10", &sig, &e) == 0 && sig == 10, "signal 10");
	check(parse_signal("0", &sig, &e) < 0 && parse_signal("65", &sig, &e) < 0 && parse_signal("FOO", &sig, &e) < 0,
	      "bad signals refused");
}

static const char good_config[] =
	"name=web\ntemplate=busybox\nhostname=web.local\nip=10.0.1.5/16\nmemory=33554432\npids=64\n"
	"cpu_quota=50000\nprivileged=0\ncreated=1700000000\n";

static void test_config_roundtrip(void)
{
	struct ct_config c;
	struct ct_err e;
	config_defaults(&c, "x");
	check(config_parse(&c, good_config, &e) == 0, "good config parses");
	check(!strcmp(c.name, "web") && c.memory == 33554432 && c.pids == 64 && c.cpu_quota == 50000 && c.has_ip &&
	      c.prefix == 16 && !c.privileged && c.created == 1700000000, "good config values");
	char text[2048];
	config_format(&c, text, sizeof(text));
	check(!strcmp(text, good_config), "format writes back the same text");
}

static void test_config_corrupt(void)
{
	const char *bad[] = {
		"name=Web\n", "name=web\nmemory=lots\n", "name=web\npids=0\n", "name=web\nip=1.2.3.4\n",
		"name=web\nprivileged=yes\n", "name=web\nfrob=1\n", "name=web\nnoequals\n", "template=busybox\n",
		"name=web\ncreated=12x\n", "name=web\nhostname=-bad\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct ct_config c;
		struct ct_err e = { "", "" };
		config_defaults(&c, "");
		check(config_parse(&c, bad[i], &e) < 0 && e.msg[0], "corrupt config %zu refused", i);
	}
	/* Every truncation either parses (it ends at a line boundary) or fails cleanly. */
	size_t n = strlen(good_config);
	for (size_t len = 0; len < n; len++) {
		char buf[sizeof(good_config)];
		memcpy(buf, good_config, len);
		buf[len] = 0;
		struct ct_config c;
		struct ct_err e;
		config_defaults(&c, "");
		int rc = config_parse(&c, buf, &e);
		check(rc == 0 || rc == -1, "truncation at %zu", len);
	}
	/* Seeded mutations: never crash, never accept an out-of-range value. */
	unsigned seed = 12345;
	for (int i = 0; i < 100000; i++) {
		char buf[sizeof(good_config) + 8];
		memcpy(buf, good_config, sizeof(good_config));
		for (int k = 0; k < 3; k++) {
			seed = seed * 1103515245 + 12345;
			buf[(seed >> 8) % (sizeof(good_config) - 1)] = (char)(seed >> 16);
		}
		struct ct_config c;
		struct ct_err e;
		config_defaults(&c, "");
		if (config_parse(&c, buf, &e) == 0 &&
		    (c.pids == 0 || c.pids < -1 || c.memory < -1 || (c.memory >= 0 && c.memory < (1 << 20)) ||
		     parse_container_name(c.name, &e) < 0)) {
			check(false, "mutation %d accepted a bad value", i);
			return;
		}
	}
	check(true, "100000 mutations");
}

int main(void)
{
	test_sizes();
	test_counts_cpus_names();
	test_ips_signals();
	test_config_roundtrip();
	test_config_corrupt();
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
