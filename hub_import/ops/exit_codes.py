"""The CLI's exit codes: one scheme for every command, documented in `--help` (HELP) and the README.

A script reads them as: 0 nothing to do; 1 look at what the command printed; 2 fix what you
typed or set; 3 try again later, or fix the credentials.
"""
from __future__ import annotations

OK = 0
PROBLEMS = 1  # the command ran and found something that needs a person (audit findings, a failed check, ...)
USAGE = 2  # what was typed or set is wrong: a bad argument or date, an unknown or malformed setting,
#            a bucket or Hub project that does not exist
UNREACHABLE = 3  # a dependency did not answer or refused us: GCS, Pub/Sub, the Hub, Google credentials
INTERNAL = 4  # an unexpected error (a bug): one line, and --debug shows the traceback
INTERRUPTED = 130  # Ctrl-C, as a shell reports a process SIGINT ended (128 + 2)
BROKEN_PIPE = 141  # the reader of stdout went away (`status | head -1`), as for any tool SIGPIPE ends (128 + 13)

HELP = f"""exit codes (every command):
  {OK}    ok
  {PROBLEMS}    problems found: audit findings, check failures, trace of a file that failed, was dead-lettered,
       is missing or duplicated in the Hub; status, when asked to (see status --help), with something that
       needs a person
  {USAGE}    usage or settings: a bad argument, an unknown or malformed setting, a bucket or Hub project
       that does not exist
  {UNREACHABLE}    a dependency unreachable: GCS, Pub/Sub, the Hub, or Google credentials
  {INTERNAL}    an unexpected error (rerun with --debug, or LOG_LEVEL=DEBUG, for the traceback)
  {INTERRUPTED}  interrupted (Ctrl-C);  {BROKEN_PIPE}  the output's reader closed the pipe (`status | head -1`)"""
