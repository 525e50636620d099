/* See civil_time.h. */
#include "base/civil_time.h"

bool civil_digits(const char *s, size_t n, int *out)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

int64_t civil_days_from_date(int64_t y, int m, int d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const int64_t yoe = y - era * 400;
	const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int civil_days_in_month(int y, int m)
{
	static const int dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : dim[m - 1];
}

bool civil_valid(int year, int month, int day, int hour, int min, int sec, bool leap_second_ok)
{
	return year >= 1 && month >= 1 && month <= 12 && day >= 1 &&
	       day <= civil_days_in_month(year, month) && hour >= 0 && hour <= 23 && min >= 0 &&
	       min <= 59 && sec >= 0 && sec <= (leap_second_ok ? 60 : 59);
}

int64_t civil_epoch_seconds(int year, int month, int day, int hour, int min, int sec)
{
	return civil_days_from_date(year, month, day) * 86400 + hour * 3600 + min * 60 + sec;
}
