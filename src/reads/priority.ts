import { dlopen, FFIType } from "bun:ffi";

/** How much a reader thread yields to the main thread (Linux nice values run from 0 to 19). */
const READER_NICENESS = 10;

/** The C libraries a Linux build may run on: glibc, then musl (Alpine). */
const LIBC_NAMES = ["libc.so.6", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1"];

/**
 * Lowers the scheduling priority of the calling thread (Linux: each thread has a nice value of
 * its own). A reader thread runs reads of up to a second; on a machine with fewer free cores
 * than threads, the kernel would share a core between it and the main thread in slices of a few
 * milliseconds, and every request would wait for the read's slice to end. At a lower priority
 * the main thread takes the core back as soon as it has work. Measured with `npm run bench --
 * lists` (the server pinned to one core): /health's p99 beside a heavy list fell from 7–12 ms
 * to about 3 ms. Anywhere this cannot be done (another OS, no libc found) it does nothing:
 * reads are still off the main thread, only not deferring to it.
 */
export function lowerThreadPriority(): boolean {
  if (process.platform !== "linux") return false;
  for (const name of LIBC_NAMES) {
    try {
      const libc = dlopen(name, {
        gettid: { args: [], returns: FFIType.i32 },
        setpriority: { args: [FFIType.i32, FFIType.u32, FFIType.i32], returns: FFIType.i32 },
      });
      try {
        // PRIO_PROCESS (0) with a thread id names that one thread on Linux.
        return libc.symbols.setpriority(0, libc.symbols.gettid(), READER_NICENESS) === 0;
      } finally {
        libc.close();
      }
    } catch {
      // Not this C library; try the next.
    }
  }
  return false;
}
