#ifndef FERRULE_CUDEV_SHIM_H
#define FERRULE_CUDEV_SHIM_H
#include <libudev.h>
#endif
