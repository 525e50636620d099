/* Calendar arithmetic for the timestamps we parse (Keystone's expires_at,
 * Pacemaker's fence history): pure, no timegm()/TZ dependency. */
#ifndef MIMAMORI_CIVIL_TIME_H
#define MIMAMORI_CIVIL_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exactly n ASCII digits at s -> *out. False on anything else. */
bool civil_digits(const char *s, size_t n, int *out);

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). */
int64_t civil_days_from_date(int64_t year, int month, int day);

/* 28..31; month 1..12. */
int civil_days_in_month(int year, int month);

/* Seconds since the epoch of a valid UTC date and time (caller checked the
 * ranges, e.g. with civil_valid()). */
int64_t civil_epoch_seconds(int year, int month, int day, int hour, int min, int sec);

/* A real date and a time of day (sec 60 allowed only if leap_second_ok). */
bool civil_valid(int year, int month, int day, int hour, int min, int sec, bool leap_second_ok);

#endif
