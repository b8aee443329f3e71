#pragma once
// Fixture: pipeline may not include config.
#include "config/config.h"
