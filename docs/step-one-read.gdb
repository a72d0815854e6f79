# Steps through one `stream.read(&mut buf).await`, from the task's poll to the read that
# returns data, printing a one-line label at each stop. See docs/STEPPING.md. Run from the
# repository's root, after `cargo build -p reactor --example one_read`:
#
#   rust-gdb -batch -x docs/step-one-read.gdb target/debug/examples/one_read
#
# Every breakpoint is set on a function's name, not a line number, so edits that move code
# around do not break the walk; a rename does, and reactor/tests/stepping.rs notices.
# To stop at each one instead of printing and going on, start gdb without -batch and run
# `glass-stop-at-each` before `run`.

set pagination off
set confirm off
set print thread-events off
set print inferior-events off

python
import re

import gdb

# Stop (instead of print and continue) at each label: `glass-stop-at-each`.
STOP_AT_EACH = [False]


def value(expression, frame=None):
    """`expression` evaluated in `frame` (the newest one by default), or `?`. Option's type
    prefix is left out: `None`, not `core::option::Option<core::time::Duration>::None`."""
    try:
        if frame is not None:
            frame.select()
        text = str(gdb.parse_and_eval(expression))
        return re.sub(r"core::option::Option<[^()]*?>::", "", text)
    except gdb.error:
        return "?"
    finally:
        gdb.newest_frame().select()


def caller():
    """`function (file:line)` of the frame that called the one we stopped in."""
    frame = gdb.newest_frame().older()
    if frame is None:
        return "?"
    sal = frame.find_sal()
    where = f"{sal.symtab.filename}:{sal.line}" if sal.symtab else "?"
    name = frame.name() or "?"
    # Generic arguments make names very long; the function is what a reader looks for.
    return f"{re.sub(r'<.*', '', name)} ({where})"


def label(number, text):
    print(f"glass step {number}: {text}")
    print(f"    called from {caller()}")
    return STOP_AT_EACH[0]


def io_result(text):
    """Ok(5) stays; std's bit-packed io::Error for an OS error (low bits 0b10) is decoded."""
    match = re.search(r"Err\((\d+)\)", text)
    if match and int(match.group(1)) & 0b11 == 0b10:
        code = int(match.group(1)) >> 32
        name = " = EAGAIN, io::ErrorKind::WouldBlock" if code == 11 else ""
        return f"Err(os error {code}{name})"
    match = re.search(r"::(Ok\(.*\))$", text)
    return match.group(1) if match else text


class Labelled(gdb.Breakpoint):
    """A breakpoint that prints a label (what `describe` returns) and carries on."""

    def __init__(self, spec, describe):
        super().__init__(spec)
        self.describe = describe

    def stop(self):
        return self.describe()


class ReadReturns(gdb.FinishBreakpoint):
    """Where the read(2) closure returns: what the kernel said."""

    def stop(self):
        result = io_result(str(self.return_value))
        if "WouldBlock" in result:
            return label(2, f"read(2) returned {result}: nothing to read yet")
        return label(9, f"read(2) returned {result}: the data")

    def out_of_scope(self):
        pass


polls = [0]


def task_poll():
    polls[0] += 1
    # `task` is a `&dyn Runnable`; its data pointer points to the task's `TaskBase` (`repr(C)`).
    task = value("(*(task.pointer as *const executor::task::TaskBase)).header.id.seq")
    if polls[0] == 1:
        return label(1, f"the executor polls task {task} (its first poll)")
    return label(8, f"the executor polls task {task} again (poll #{polls[0]})")


def read_starts():
    ReadReturns(gdb.newest_frame(), internal=True)
    return False


def waker_stored():
    io = gdb.newest_frame().older()
    fd = value("self.fd", io)
    return label(3, f"WouldBlock: the task's waker is stored in fd {fd}'s waiters")


def park():
    return label(4, f"the executor has nothing to run: reactor::park(max_wait={value('max_wait')})")


def epoll_wait():
    timeout = value("timeout")
    return label(4, f"mio calls epoll_wait (timeout {timeout}): the thread sleeps")


def event():
    fd = value("self.fd")
    direction = value("direction").rsplit("::", 1)[-1]
    waiters = "readers" if direction == "Readable" else "writers"
    first = value(f"self.{waiters}.value.value.first")
    if first.startswith("None"):
        woken = "nobody waits for that: nothing to wake"
    else:
        woken = "a task waits for that: wake it"
    return label(5, f"epoll_wait handed back an event: fd {fd} {direction.lower()}; {woken}")


def wake():
    return label(6, f"Waker::wake for task {value('self.id.seq')}")


def queued():
    task = value("header.id.seq")
    return label(7, f"task {task} is pushed onto the run queue (the VecDeque `local`)")


def poll_task_instances():
    """The names of every instance of the generic `Runtime::poll_task` in the program."""
    listing = gdb.execute(
        "info functions ^executor::runtime::Runtime::poll_task<", to_string=True
    )
    return re.findall(r"fn (executor::runtime::Runtime::poll_task<.*>)\(", listing)


for name in poll_task_instances():
    Labelled(f"'{name}'", task_poll)
Labelled("'reactor::net::tcp::{impl#1}::poll_read_priv::{closure#0}'", read_starts)
Labelled("reactor::driver::Waiters::add", waker_stored)
Labelled("reactor::driver::Reactor::park", park)
Labelled("mio::sys::unix::selector::Selector::select", epoll_wait)
Labelled("reactor::driver::ScheduledIo::wake", event)
Labelled("executor::waker::Header::wake", wake)
Labelled("executor::runtime::wake_here", queued)


class StopAtEach(gdb.Command):
    """Stop at each of the walk's breakpoints instead of printing its label and going on."""

    def __init__(self):
        super().__init__("glass-stop-at-each", gdb.COMMAND_BREAKPOINTS)

    def invoke(self, argument, from_tty):
        STOP_AT_EACH[0] = True


StopAtEach()
end

run
