"""The GPIO IRQ loop of issue 12 without the agent: gpio_loopback.ko (line N
drives line N+1) and irq_button_demo.ko on its line 17, stimulated by
workloads/gpio_pulse on line 16 through the GPIO character device v2."""
import re

import pytest

import rtt

DEMO = "/sys/kernel/irq_button_demo"
LOAD = "modprobe gpio_loopback && modprobe irq_button_demo chip=gpio-loopback line=17"


@pytest.fixture(scope="module", autouse=True)
def _built():
    rtt.build_for(rtt.ARCH)


def _chipdev():
    # gpiochip0 is the virt machine's PL061: find the loopback by label
    return "gpio-loopback"


def test_load_unload_loop():
    run = rtt.run_guest("gpio-loop", f"""
for i in $(seq 20); do
  {LOAD} edge=both || echo "@@@ error load $i"
  modprobe -r irq_button_demo || echo "@@@ error rmmod demo $i"
  modprobe -r gpio_loopback || echo "@@@ error rmmod loopback $i"
done
echo "@@@ begin dmesg"; dmesg; echo "@@@ end dmesg"
""")
    run.assert_ok()


BAD = [
    ("chip=nosuch", "No such device", "no GPIO chip labelled nosuch"),
    ("chip=gpio-loopback line=32", "Invalid argument", "line 32 out of range"),
    ("chip=gpio-loopback edge=sideways", "Invalid argument", "edge=sideways"),
    ("chip=gpio-loopback work_us=100001", "Invalid argument", "work_us=100001"),
]


@pytest.mark.parametrize("opts,errno,msg", BAD)
def test_bad_param(opts, errno, msg):
    run = rtt.run_guest("gpio-bad-" + re.sub(r"\W", "_", opts), f"""
modprobe gpio_loopback
dmesg -c > /dev/null
insmod /lib/modules/$(uname -r)/extra/irq_button_demo.ko {opts} 2>&1 && echo "@@@ error loaded"
echo "@@@ begin dmesg"; dmesg; echo "@@@ end dmesg"
""")
    assert errno in run.stdout, run.describe()
    lines = [ln for ln in run.section("dmesg").splitlines() if "irq_button_demo" in ln]
    assert len(lines) == 1 and msg in lines[0], run.describe()


def test_busy_line():
    run = rtt.run_guest("gpio-busy", f"""
modprobe gpio_loopback
gpio_pulse -c {_chipdev()} -l 17 -n 0 -H 3000 & P=$!
sleep 1
dmesg -c > /dev/null
insmod /lib/modules/$(uname -r)/extra/irq_button_demo.ko chip=gpio-loopback 2>&1 && echo "@@@ error loaded"
wait $P
echo "@@@ begin dmesg"; dmesg; echo "@@@ end dmesg"
""")
    assert "Device or resource busy" in run.stdout, run.describe()
    lines = [ln for ln in run.section("dmesg").splitlines() if "irq_button_demo" in ln]
    assert len(lines) == 1, run.describe()


@pytest.mark.parametrize("edge,n,want", [("both", 200, 200), ("rising", 200, 100)])
def test_counts_exact(edge, n, want):
    run = rtt.run_guest(f"gpio-counts-{edge}", f"""
{LOAD} edge={edge} work_us=200
gpio_pulse -c {_chipdev()} -l 16 -n {n} -P 2000
sleep 1
echo "@@@ begin demo"
for f in hard_count thread_count debounced last_delay_ns last_handler_ns; do
  echo "$f $(cat {DEMO}/$f)"; done
echo "@@@ end demo"
""")
    run.assert_ok()
    v = dict(ln.split() for ln in run.section("demo").splitlines())
    assert int(v["hard_count"]) == want, run.describe()
    assert int(v["thread_count"]) + int(v["debounced"]) == want, run.describe()
    assert int(v["last_handler_ns"]) >= 200 * 1000, run.describe()
    assert int(v["last_delay_ns"]) > 0, run.describe()
