# The demo's case studies as guest shell snippets, shared by scripts/demo
# (all of them in one boot) and scripts/capture-case (one per boot, for the
# decoder's test captures). Sourced, not run.
# shellcheck shell=bash disable=SC2034 # the variables are its users'

# Every case runs on CPU 1; the agent (CPU 0) attaches to the workloads by
# name (see board/rpi4-rt-tracer/rootfs-overlay/etc/rpi-agent.toml), so each
# starts after a short delay that gives it time to. The banners go to the
# console UART, between the agent's frames, so rtdecode shows them in place.
# shellcheck disable=SC2016 # guest code: expanded in the guest
demo_prelude='banner() { printf '"'"'\033[1;36m### %s\033[0m\n%s\n'"'"' "$1" "$2" >/dev/console; }
sleep 1'

demo_cases=('')
read -r -d '' c <<'GUEST' || true
banner "case 1/7: misconfigured priorities" \
  "ctrl_loop (FIFO 50, 2 ms period) shares CPU 1 with prio_hog, set to FIFO 60 by mistake."
prio_hog -B 3000 -S 17000 -d 2500 -p 60 -c 1 -s 1500 >/dev/null &
ctrl_loop -n 1000 -P 2000 -C 200 -p 50 -c 1 -s 1200 >/dev/null
wait
GUEST
demo_cases+=("$c")
read -r -d '' c <<'GUEST' || true
banner "case 2/7: hidden blocking in a control loop" \
  "hidden_block reads a pipe every 10th cycle; the answer comes 3 ms late."
hidden_block -n 500 -P 2000 -E 10 -D 3000 -c 1 -s 1200 >/dev/null
GUEST
demo_cases+=("$c")
read -r -d '' c <<'GUEST' || true
banner "case 3/7: priority inversion" \
  "pi_high waits for a mutex pi_low holds while pi_med runs; first a plain mutex, then with priority inheritance."
prio_inv -n 40 -c 1 -s 1200 >/dev/null
prio_inv --pi -n 40 -c 1 -s 1200 >/dev/null
GUEST
demo_cases+=("$c")
read -r -d '' c <<'GUEST' || true
banner "case 4/7: a background task that blocks" \
  "bb_rt shares a lock with bb_bg, which sleeps while holding it."
bg_block -n 150 -c 1 -s 1200 >/dev/null
GUEST
demo_cases+=("$c")
read -r -d '' c <<'GUEST' || true
banner "case 5/7: a busy device IRQ thread" \
  "64 MiB stream through the virtio console while prio_hog (FIFO 60) takes CPU 0 from its IRQ thread (FIFO 50)."
prio_hog -B 2000 -S 6000 -d 3000 -p 60 -c 0 -s 1200 >/dev/null &
sleep 1
dd if=/dev/zero of=/dev/hvc3 bs=64k count=1024 2>/dev/null
wait
GUEST
demo_cases+=("$c")
read -r -d '' c <<'GUEST' || true
banner "case 6/7: the GPIO17 IRQ loop" \
  "rpi-agent pulses GPIO16, wired to GPIO17 (here gpio-loopback, on the Pi a jumper); irq_button_demo's IRQ thread works 300 us per edge on CPU 1, where prio_hog (FIFO 60) runs."
D=/sys/kernel/irq_button_demo
echo 300 >$D/work_us
irq_pid=$(grep -l "^irq/$(cat $D/irq)-" /proc/[0-9]*/comm | cut -d/ -f3)
taskset -p 2 "$irq_pid" >/dev/null
# The agent restarts with its stimulus on (a new session in the view).
/etc/init.d/S50rpi-agent stop >/dev/null
sleep 1
RPI_AGENT_OPTS=
[ -r /etc/default/rpi-agent ] && . /etc/default/rpi-agent
rpi-agent --config /etc/rpi-agent.toml $RPI_AGENT_OPTS --stimulus-chip gpio-loopback \
  --stimulus-line GPIO16 --stimulus-rate 10 --stimulus-count 30 >>/var/log/rpi-agent.log 2>&1 &
agent=$!
prio_hog -B 4000 -S 6000 -d 3000 -p 60 -c 1 -s 500 >/dev/null
sleep 2
kill -TERM $agent
wait $agent
GUEST
demo_cases+=("$c")
read -r -d '' c <<'GUEST' || true
banner "case 7/7: a budget window blocked on a lock" \
  "win_loop (FIFO 50) opens a 2 ms window around each cycle (rtt_window.h); every other cycle it waits for a mutex win_holder keeps until 2 ms past the budget."
win_loop -m lock -b 2000 -w 300 -o 2000 -n 20 -c 1 -p 50 -s 1200 >/dev/null
GUEST
demo_cases+=("$c")
unset c
# A last second for the agent's final frames to reach the UART.
demo_epilogue='sleep 1'
