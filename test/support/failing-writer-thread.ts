// A stand-in for the event writer's thread that dies as it starts, for the fallback test.
throw new Error("writer thread failed to start (test)");
