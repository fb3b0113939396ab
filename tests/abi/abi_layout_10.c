/* SPDX-License-Identifier: MIT */
/* The ABI 1.0 layout as the frozen header defines it (see abi_layout.c). */
#include "plugin-1.0.h"

#define ABI_LAYOUT_NAME abi_layout_10
#include "abi_layout_body.h"
