// Imported first by main.ts, before anything loads Elysia: Elysia decides at load time, from
// NODE_ENV, whether a validation failure also builds a pretty-printed copy of the whole value
// (seconds of CPU for a hostile body). Tollgate has no development mode, so whoever starts it
// (npm start, the executable, Docker) runs the production path, whatever the caller's
// environment says. Tests import src/app.ts directly and are not affected.
process.env.NODE_ENV = "production";
