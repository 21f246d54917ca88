// clock.h: seconds on the monotonic clock (not moved by the wall clock's adjustments), for every
// duration brigade measures: steps, transfers, forwards, energy intervals.
#ifndef BR_CLOCK_H
#define BR_CLOCK_H

double br_now(void);
// Seconds since 1970 (the wall clock): for timestamps that outlive the process (a job's times).
double br_wall_time(void);

#endif
