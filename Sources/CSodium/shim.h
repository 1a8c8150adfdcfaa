#ifndef WRIT_CSODIUM_SHIM_H
#define WRIT_CSODIUM_SHIM_H
#include <sodium.h>
#endif
