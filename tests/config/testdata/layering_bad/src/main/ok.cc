// Fixture: main may.
#include "config/config.h"
