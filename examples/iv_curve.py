# title: I-V curve of a resistor
# description: Sweeps the programmable current source PCS from 0 to 1.5 mA into the 1 kOhm resistor of the bench and reads the voltage across it on AN4. A line fitted to the points gives the resistance (Ohm's law).
# level: beginner
import numpy as np

currents = np.linspace(0, 1.5e-3, 11)
volts = []
for i in currents:
    set_pcs(i)
    volts.append(get_voltage('AN4'))
set_pcs(0)
fit = np.polyfit(currents, volts, 1)
plot(currents * 1e3, volts, np.polyval(fit, currents), name='iv', labels=['AN4', 'fit'],
     x_label='Current (mA)', y_label='Voltage (V)')
print('fitted resistance: %.0f ohm' % fit[0])
