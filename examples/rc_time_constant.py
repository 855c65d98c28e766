# title: RC time constant
# description: Measures the resistor on RES (10 kOhm) and the capacitor on CAP (1 nF), then draws how that capacitor would charge through that resistor from 3.3 V and fits the time constant back from the curve: ln(1 - V/V0) falls on a line of slope -1/tau.
# level: intermediate
import numpy as np

r = get_resistance()
c = get_capacitance()
tau = r * c
t = np.linspace(0, 5 * tau, 200)
v = 3.3 * (1 - np.exp(-t / tau))
slope = np.polyfit(t[:-1], np.log(1 - v[:-1] / 3.3), 1)[0]
plot(t * 1e6, v, name='charging', labels=['V(CAP)'], x_label='Time (µs)', y_label='Voltage (V)')
print('R = %.0f ohm, C = %.3g F' % (r, c))
print('tau = R*C = %.2f us, fitted tau = %.2f us' % (tau * 1e6, -1e6 / slope))
