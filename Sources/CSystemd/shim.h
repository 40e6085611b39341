#ifndef SWITCHBOARD_CSYSTEMD_SHIM_H
#define SWITCHBOARD_CSYSTEMD_SHIM_H
#include <systemd/sd-daemon.h>
#endif
