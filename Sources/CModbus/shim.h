#ifndef FERRULE_CMODBUS_SHIM_H
#define FERRULE_CMODBUS_SHIM_H
#include <modbus.h>

/* libmodbus defines its error codes as macros built from an expression, which Swift
   cannot import: re-export them as constants. */
static const int FERRULE_EMBXILFUN = EMBXILFUN;
static const int FERRULE_EMBXILADD = EMBXILADD;
static const int FERRULE_EMBXILVAL = EMBXILVAL;
static const int FERRULE_EMBXSFAIL = EMBXSFAIL;
static const int FERRULE_EMBXACK = EMBXACK;
static const int FERRULE_EMBXSBUSY = EMBXSBUSY;
static const int FERRULE_EMBXNACK = EMBXNACK;
static const int FERRULE_EMBXMEMPAR = EMBXMEMPAR;
static const int FERRULE_EMBXGPATH = EMBXGPATH;
static const int FERRULE_EMBXGTAR = EMBXGTAR;
static const int FERRULE_EMBBADCRC = EMBBADCRC;
static const int FERRULE_EMBBADDATA = EMBBADDATA;
static const int FERRULE_EMBBADEXC = EMBBADEXC;
static const int FERRULE_EMBMDATA = EMBMDATA;
static const int FERRULE_EMBBADSLAVE = EMBBADSLAVE;
#endif
