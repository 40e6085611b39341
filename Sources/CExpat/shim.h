#ifndef SWITCHBOARD_CEXPAT_SHIM_H
#define SWITCHBOARD_CEXPAT_SHIM_H
#include <expat.h>
#endif
