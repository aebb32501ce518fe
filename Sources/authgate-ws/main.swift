import AuthWS
import Foundation

exit(CompanionMain.run())
