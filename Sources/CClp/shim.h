// COIN-OR Clp's C interface (Debian: coinor-libclp-dev), the LP solver behind FleetTwinSolver.
#include <coin/Clp_C_Interface.h>
