// COIN-OR Cbc's C interface (Debian: coinor-libcbc-dev), the MILP solver behind FleetTwinSolver.
#include <coin/Cbc_C_Interface.h>
