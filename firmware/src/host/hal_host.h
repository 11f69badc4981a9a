/* hal_host.h: what the simulator's main() needs from the host hardware layer. */
#ifndef TINYAD_HAL_HOST_H
#define TINYAD_HAL_HOST_H

#include <stdio.h>

/* Where readings come from and whether LED/buzzer changes are traced to stderr. */
void hal_host_configure(FILE *input, const char *input_name, int trace);

/* Input lines rejected so far. */
unsigned long hal_host_input_errors(void);

#endif /* TINYAD_HAL_HOST_H */
