/* SPDX-License-Identifier: MIT */
/* The ABI 1.0 members as the CURRENT header lays them out (see abi_layout.c). */
#include <relhost/plugin.h>

#define ABI_LAYOUT_NAME abi_layout_cur
#include "abi_layout_body.h"
