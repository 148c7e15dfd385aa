#include "floe_digits.h"

#define PAIRS_(t) t "0" t "1" t "2" t "3" t "4" t "5" t "6" t "7" t "8" t "9"
const char floe_digit_pairs[200] = PAIRS_("0") PAIRS_("1") PAIRS_("2") PAIRS_("3") PAIRS_("4")
    PAIRS_("5") PAIRS_("6") PAIRS_("7") PAIRS_("8") PAIRS_("9");
