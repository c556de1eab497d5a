#include "refpos/refpos.h"
extern "C" REFPOS_EXPORT refpos_status refpos_get_api(uint32_t, const refpos_api**) { return REFPOS_E_INTERNAL; }
